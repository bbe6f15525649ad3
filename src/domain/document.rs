//! What an identity document upload is: its kind, its side, and the client's
//! file name as metadata. The client's name never becomes a storage path;
//! it is kept only so an officer can recognise what the applicant sent.

use serde::{Deserialize, Serialize};

use super::text::{TextError, clean};

/// The kinds of document an applicant can upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Passport data page (ICAO 9303 TD3).
    Passport,
    /// National identity card (TD1), front and back.
    NationalIdCard,
    /// Residence permit (TD1/TD2), front and back.
    ResidencePermit,
    /// Driving licence, front and back.
    DrivingLicence,
    /// Utility bill, bank statement or similar.
    ProofOfAddress,
    /// A photo of the applicant's face.
    Selfie,
}

/// A side of a card document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentSide {
    /// The front.
    Front,
    /// The back.
    Back,
}

/// A kind/side combination that does not exist, or an unknown value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentFieldError {
    /// Not one of the kinds.
    #[error(
        "must be one of passport, national_id_card, residence_permit, driving_licence, proof_of_address, selfie"
    )]
    UnknownKind,
    /// Not `front` or `back`.
    #[error("must be front or back")]
    UnknownSide,
    /// Cards have two sides and need one named.
    #[error("this kind of document has a front and a back; name the side")]
    SideRequired,
    /// Single-sided kinds take no side.
    #[error("this kind of document has no sides")]
    SideNotAllowed,
}

impl DocumentFieldError {
    /// Stable code for problem details.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownKind | Self::UnknownSide => "unknown_value",
            Self::SideRequired => "required",
            Self::SideNotAllowed => "not_allowed",
        }
    }
}

impl DocumentKind {
    /// Every kind, for messages and the policy.
    pub const ALL: [Self; 6] = [
        Self::Passport,
        Self::NationalIdCard,
        Self::ResidencePermit,
        Self::DrivingLicence,
        Self::ProofOfAddress,
        Self::Selfie,
    ];

    /// Parses the wire name.
    pub fn parse(raw: &str) -> Result<Self, DocumentFieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or(DocumentFieldError::UnknownKind)
    }

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::NationalIdCard => "national_id_card",
            Self::ResidencePermit => "residence_permit",
            Self::DrivingLicence => "driving_licence",
            Self::ProofOfAddress => "proof_of_address",
            Self::Selfie => "selfie",
        }
    }

    /// Cards (ID-1/ID-2 format) carry data on both sides.
    pub fn has_sides(self) -> bool {
        matches!(
            self,
            Self::NationalIdCard | Self::ResidencePermit | Self::DrivingLicence
        )
    }

    /// A selfie is a photo; a scan of anything else may also be a PDF.
    pub fn accepts_pdf(self) -> bool {
        self != Self::Selfie
    }

    /// Travel documents carry a machine readable zone (ICAO 9303 parts 4–6:
    /// passports, identity cards, residence permits); the others do not.
    pub fn bears_mrz(self) -> bool {
        matches!(
            self,
            Self::Passport | Self::NationalIdCard | Self::ResidencePermit
        )
    }

    /// Checks the side against the kind: cards need one, others take none
    /// (a passport's data page is its only side).
    pub fn side(self, raw: Option<&str>) -> Result<Option<DocumentSide>, DocumentFieldError> {
        let side = raw.map(DocumentSide::parse).transpose()?;
        match (self.has_sides(), side) {
            (true, None) => Err(DocumentFieldError::SideRequired),
            (false, Some(_)) => Err(DocumentFieldError::SideNotAllowed),
            (_, side) => Ok(side),
        }
    }
}

impl DocumentSide {
    /// Parses the wire name.
    pub fn parse(raw: &str) -> Result<Self, DocumentFieldError> {
        match raw {
            "front" => Ok(Self::Front),
            "back" => Ok(Self::Back),
            _ => Err(DocumentFieldError::UnknownSide),
        }
    }

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Front => "front",
            Self::Back => "back",
        }
    }
}

/// The client's file name, kept as metadata only: NFC, at most 255
/// characters, no path, no control or invisible characters (a right-to-left
/// override can make `gpj.exe` read as `exe.jpg` to an officer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalFileName(String);

/// Why a file name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileNameError {
    /// Holds a path: separators or a `..` component.
    #[error("must be a plain file name without a path")]
    Path,
    /// Empty, too long, or with control or invisible characters.
    #[error(transparent)]
    Text(#[from] TextError),
}

impl FileNameError {
    /// Stable code for problem details.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Path => "path_not_allowed",
            Self::Text(t) => t.code(),
        }
    }
}

impl OriginalFileName {
    /// Validates a client's file name. Names with a path are refused rather
    /// than cut down, so the app learns that it sent something odd.
    pub fn parse(raw: &str) -> Result<Self, FileNameError> {
        if raw.contains(['/', '\\']) || raw.split('.').all(|part| part.is_empty()) {
            return Err(FileNameError::Path);
        }
        let cleaned = clean(raw, 255)?;
        if cleaned.starts_with("..") {
            return Err(FileNameError::Path);
        }
        Ok(Self(cleaned))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_need_a_side_and_others_refuse_one() {
        let id = DocumentKind::parse("national_id_card").unwrap();
        assert_eq!(id.side(Some("back")), Ok(Some(DocumentSide::Back)));
        assert_eq!(id.side(None), Err(DocumentFieldError::SideRequired));
        let passport = DocumentKind::parse("passport").unwrap();
        assert_eq!(passport.side(None), Ok(None));
        assert_eq!(
            passport.side(Some("front")),
            Err(DocumentFieldError::SideNotAllowed)
        );
        assert_eq!(id.side(Some("top")), Err(DocumentFieldError::UnknownSide));
        assert_eq!(
            DocumentKind::parse("Passport"),
            Err(DocumentFieldError::UnknownKind)
        );
    }

    #[test]
    fn file_names_with_paths_or_hidden_characters_are_refused() {
        for bad in [
            "../../etc/passwd",
            "..",
            "a\\b.jpg",
            "/etc/passwd",
            "scan\0.jpg",
            "gpj.\u{202E}exe",
            "a\u{200B}b.pdf",
            "",
            "   ",
        ] {
            assert!(OriginalFileName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            OriginalFileName::parse("Reisepass Müller.JPG")
                .unwrap()
                .as_str(),
            "Reisepass Müller.JPG"
        );
        assert!(OriginalFileName::parse(&"a".repeat(256)).is_err());
    }
}
