//! `POST /v1/applications/{id}/documents`: a streamed multipart upload.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use utoipa::ToSchema;

use super::DocumentView;
use crate::auth::Role;
use crate::documents::{NewDocument, Upload};
use crate::domain::document::{DocumentKind, OriginalFileName};
use crate::http::applications::{body_bytes, caller, idempotency, replay};
use crate::http::auth::Principal;
use crate::http::errors::{ApiError, ErrorCode, FieldError};
use crate::http::multipart::{self, Event, MultipartError, MultipartLimits, Parser, PartHeaders};
use crate::startup::AppState;

/// Longest value of the text fields `kind` and `side`.
const MAX_FIELD_BYTES: usize = 64;

/// The multipart form of an upload (documentation only: the body is parsed
/// as a stream).
#[derive(Debug, ToSchema)]
#[expect(
    dead_code,
    reason = "describes the multipart form in the OpenAPI document"
)]
pub struct UploadForm {
    /// `passport`, `national_id_card`, `residence_permit`, `driving_licence`,
    /// `proof_of_address` or `selfie`. Must come before `file`.
    kind: String,
    /// `front` or `back`: required for cards, refused otherwise. Before `file`.
    side: Option<String>,
    /// The machine readable zone as the app read it off the document (ICAO
    /// 9303 TD1, TD2, TD3 or visa; lines separated by newlines): passports,
    /// identity cards and residence permits only. Before `file`. Check-digit
    /// faults do not refuse the upload; the MRZ check reports them.
    mrz: Option<String>,
    /// The document: JPEG, PNG, PDF or HEIC/HEIF, decided by content. The last part.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

/// Uploads an identity document to the caller's application (draft or
/// info requested). The body is `multipart/form-data` with the text fields
/// `kind` and `side` first and the `file` part last; it is read as a stream
/// and never held whole. Every limit (file, request, application, parts,
/// part headers) is checked while reading: crossing one is 413 at once.
/// The type is decided by content; active or disguised content is refused.
/// The same bytes uploaded again as the same kind answer 200 with the first
/// document; a new file of the same kind and side replaces the current one,
/// which is kept for the record. Requires `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/v1/applications/{id}/documents",
    tag = "documents",
    params(
        ("id" = String, Path, description = "Application id"),
        ("Idempotency-Key" = String, Header, description = "Unique per intended upload"),
    ),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = []), ("dpop" = [])),
    responses(
        (status = 201, description = "Stored", body = DocumentView),
        (status = 200, description = "The same bytes were already stored as this document", body = DocumentView),
        (status = 400, description = "Malformed multipart body or missing Idempotency-Key", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application (or not yours)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The application takes no documents now, or the bytes are stored as another document", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 413, description = "A size or count limit was crossed", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JPEG, PNG, PDF or HEIC/HEIF", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a document refused by content (reason in `errors`)", body = crate::http::errors::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited; see Retry-After", body = crate::http::errors::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload_document(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require_any(&[Role::Applicant])?;
    // Required up front, so no upload streams in without one.
    idempotency(&req, &[])?;
    if let Some(auth) = req.app_data::<web::Data<crate::http::auth::Authenticator>>() {
        auth.limit_action(&req, &principal, crate::auth::RateAction::Upload)?;
    }
    let settings = state.documents.settings();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the document as multipart/form-data.",
        ));
    }
    let boundary = multipart::boundary(content_type).map_err(multipart_error)?;
    let mut body = Body {
        parser: Parser::new(
            &boundary,
            MultipartLimits {
                max_parts: settings.max_parts,
                max_header_bytes: settings.max_part_header_bytes,
                max_body_bytes: settings.max_request_bytes,
                max_preamble_bytes: 1024,
            },
        ),
        payload: &mut payload,
    };

    // The text fields come first, so the upload knows what it receives
    // before a byte of the file is stored.
    let mut kind = None;
    let mut side = None;
    let mut mrz = None;
    let file = loop {
        match body.next().await? {
            Event::PartStart(h) if h.name == "kind" || h.name == "side" || h.name == "mrz" => {
                let (slot, max) = match h.name.as_str() {
                    "kind" => (&mut kind, MAX_FIELD_BYTES),
                    "side" => (&mut side, MAX_FIELD_BYTES),
                    _ => (&mut mrz, crate::domain::mrz::MAX_INPUT_BYTES),
                };
                let value = body.text_field(&h.name, max).await?;
                slot.replace(value);
            }
            Event::PartStart(h) if h.name == "file" => break h,
            Event::PartStart(h) => {
                return Err(invalid(
                    &h.name,
                    "unknown_field",
                    "only kind, side, mrz and file are accepted",
                ));
            }
            Event::End => return Err(invalid("file", "required", "the file part is missing")),
            Event::Data(_) | Event::PartEnd => {
                return Err(multipart_error(MultipartError::Malformed(
                    "unexpected content",
                )));
            }
        }
    };
    let new = new_document(kind, side, mrz, &file)?;
    let descriptor = format!(
        "{}\n{}\n{}\n{}\n",
        new.kind.as_str(),
        new.side.map(|s| s.as_str()).unwrap_or_default(),
        new.file_name
            .as_ref()
            .map(|n| n.as_str())
            .unwrap_or_default(),
        new.mrz.as_deref().unwrap_or_default(),
    );
    let caller = caller(&req, &principal);
    let mut upload = state.documents.begin(&caller, &id, new).await?;
    if let Err(e) = body.stream_file(&mut upload).await {
        upload.abort().await;
        return Err(e);
    }
    let verified = upload.verify().await?;
    // The request's identity for Idempotency-Key: the form fields and the
    // file's hash.
    let (key, hash) = idempotency(
        &req,
        format!("{descriptor}{}", verified.sha256()).as_bytes(),
    )?;
    match state
        .onboarding
        .idempotent_replay(&caller, &key, &hash)
        .await
    {
        Ok(None) => {}
        Ok(Some(stored)) => {
            verified.abort().await;
            return Ok(replay(stored));
        }
        Err(e) => {
            verified.abort().await;
            return Err(e.into());
        }
    }
    let mut response = Vec::new();
    let stored = verified
        .store(|s| {
            response = body_bytes(&DocumentView::new(&s.record, None)).ok()?;
            Some(
                state
                    .onboarding
                    .idempotency(&caller, &key, &hash, 201, response.clone()),
            )
        })
        .await?;
    let view = DocumentView::new(&stored.record, None);
    let location = format!(
        "/v1/applications/{}/documents",
        stored.record.application_id
    );
    Ok(if stored.created {
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// The request body: the parser fed from the connection.
struct Body<'p> {
    parser: Parser,
    payload: &'p mut web::Payload,
}

impl Body<'_> {
    async fn next(&mut self) -> Result<Event, ApiError> {
        loop {
            if let Some(event) = self.parser.next_event().map_err(multipart_error)? {
                return Ok(event);
            }
            match self.payload.next().await {
                Some(Ok(bytes)) => self.parser.feed(&bytes).map_err(multipart_error)?,
                Some(Err(e)) => {
                    return Err(ApiError::new(
                        ErrorCode::BadRequest,
                        format!("The upload was interrupted: {e}. Nothing was stored."),
                    ));
                }
                None => self.parser.finish(),
            }
        }
    }

    async fn text_field(&mut self, name: &str, max: usize) -> Result<String, ApiError> {
        let mut value = Vec::new();
        loop {
            match self.next().await? {
                Event::Data(bytes) => {
                    value.extend_from_slice(&bytes);
                    if value.len() > max {
                        return Err(invalid(name, "too_long", &format!("at most {max} bytes")));
                    }
                }
                Event::PartEnd => break,
                _ => {
                    return Err(multipart_error(MultipartError::Malformed(
                        "a field is cut short",
                    )));
                }
            }
        }
        String::from_utf8(value).map_err(|_| invalid(name, "invalid_characters", "must be UTF-8"))
    }

    /// Streams the file part into the upload; after it only the closing
    /// delimiter may follow.
    async fn stream_file(&mut self, upload: &mut Upload<'_>) -> Result<(), ApiError> {
        loop {
            match self.next().await? {
                Event::Data(bytes) => upload.write(bytes).await?,
                Event::PartEnd => break,
                _ => {
                    return Err(multipart_error(MultipartError::Malformed(
                        "the file is cut short",
                    )));
                }
            }
        }
        match self.next().await? {
            Event::End => Ok(()),
            Event::PartStart(h) => Err(invalid(
                &h.name,
                "after_file",
                "the file must be the last part, and only one file per request",
            )),
            _ => Err(multipart_error(MultipartError::Malformed(
                "junk after the file",
            ))),
        }
    }
}

fn new_document(
    kind: Option<String>,
    side: Option<String>,
    mrz: Option<String>,
    file: &PartHeaders,
) -> Result<NewDocument, ApiError> {
    let mut problems = Vec::new();
    let kind = match kind.as_deref().map(DocumentKind::parse) {
        None => {
            problems.push(field("kind", "required", "send kind before the file"));
            None
        }
        Some(Err(e)) => {
            problems.push(field("kind", e.code(), &e.to_string()));
            None
        }
        Some(Ok(k)) => Some(k),
    };
    let side = match kind.map(|k| k.side(side.as_deref())) {
        Some(Err(e)) => {
            problems.push(field("side", e.code(), &e.to_string()));
            None
        }
        Some(Ok(s)) => s,
        None => None,
    };
    let file_name = match file.filename.as_deref().map(OriginalFileName::parse) {
        Some(Err(e)) => {
            problems.push(field("file.filename", e.code(), &e.to_string()));
            None
        }
        Some(Ok(n)) => Some(n),
        None => None,
    };
    let mrz = match (kind, mrz) {
        (_, None) => None,
        (Some(k), Some(_)) if !k.bears_mrz() => {
            problems.push(field(
                "mrz",
                "not_allowed",
                "only passports, identity cards and residence permits carry an MRZ",
            ));
            None
        }
        (_, Some(text)) => {
            // The shape only (alphabet, line layout, document code); faults
            // inside the fields are findings of the MRZ check, not input errors.
            match crate::domain::mrz::parse(&text, chrono::Utc::now().date_naive()) {
                Ok(_) => Some(text.trim().to_owned()),
                Err(e) => {
                    problems.push(field("mrz", "invalid_mrz", &e.to_string()));
                    None
                }
            }
        }
    };
    match kind {
        Some(kind) if problems.is_empty() => Ok(NewDocument {
            kind,
            side,
            declared_type: file.content_type.clone(),
            file_name,
            mrz,
        }),
        _ => Err(ApiError::new(
            ErrorCode::ValidationFailed,
            "Some fields are invalid; nothing was stored.",
        )
        .with_errors(problems)),
    }
}

fn field(name: &str, code: &str, message: &str) -> FieldError {
    FieldError {
        field: name.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

fn invalid(name: &str, code: &str, message: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ValidationFailed,
        "Some fields are invalid; nothing was stored.",
    )
    .with_errors(vec![field(name, code, message)])
}

fn multipart_error(e: MultipartError) -> ApiError {
    let code = if e.is_too_large() {
        ErrorCode::PayloadTooLarge
    } else {
        ErrorCode::MalformedMultipart
    };
    ApiError::new(code, format!("{e}. Nothing was stored."))
}
