//! Loads the data-protection keys from files (production) or generates them
//! once under the dev directory (dev profile).

use std::path::Path;

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

use crate::config::Settings;
use crate::crypto::blind_index::BlindIndexKey;
use crate::crypto::envelope::{KEY_LEN, Keyring};
use crate::tls::write_file;

/// Id of the generated development KEK.
const DEV_KEK_ID: &str = "dev-1";

/// Missing or unusable key files; the message names the file or key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DataKeyError(String);

/// Reads 32 key bytes: the raw bytes, or base64 text of them.
fn read_key(path: &Path) -> Result<Vec<u8>, DataKeyError> {
    let raw = std::fs::read(path).map_err(|e| DataKeyError(format!("{}: {e}", path.display())))?;
    if raw.len() == KEY_LEN {
        return Ok(raw);
    }
    let text = String::from_utf8_lossy(&raw);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| {
            DataKeyError(format!(
                "{}: neither 32 raw bytes nor base64",
                path.display()
            ))
        })?;
    if decoded.len() != KEY_LEN {
        return Err(DataKeyError(format!(
            "{}: a key has {KEY_LEN} bytes",
            path.display()
        )));
    }
    Ok(decoded)
}

fn dev_key(dir: &Path, name: &str) -> Result<Vec<u8>, DataKeyError> {
    let path = dir.join(name);
    if path.is_file() {
        return read_key(&path);
    }
    std::fs::create_dir_all(dir).map_err(|e| DataKeyError(format!("{}: {e}", dir.display())))?;
    let mut key = vec![0u8; KEY_LEN];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| DataKeyError("no randomness available".to_owned()))?;
    write_file(&path, &key, true).map_err(|e| DataKeyError(e.to_string()))?;
    Ok(key)
}

/// The KEK keyring and the blind-index key from settings.
pub fn load(settings: &Settings) -> Result<(Keyring, BlindIndexKey), DataKeyError> {
    let cfg = &settings.data_keys;
    let dev = settings.dev_dir();
    let keyring = match &cfg.kek_active {
        Some(active) => {
            let keys = cfg
                .kek_files
                .iter()
                .map(|(id, path)| Ok((id.clone(), read_key(path)?)))
                .collect::<Result<Vec<_>, DataKeyError>>()?;
            Keyring::new(active, keys)
        }
        None => Keyring::new(
            DEV_KEK_ID,
            vec![(DEV_KEK_ID.to_owned(), dev_key(&dev, "kek-dev-1.key")?)],
        ),
    }
    .map_err(|e| DataKeyError(format!("data_keys: {e}")))?;
    let blind = match &cfg.blind_index_key_path {
        Some(path) => read_key(path)?,
        None => dev_key(&dev, "blind-index.key")?,
    };
    let blind = BlindIndexKey::new(&blind)
        .ok_or_else(|| DataKeyError("blind index key too short".to_owned()))?;
    Ok((keyring, blind))
}
