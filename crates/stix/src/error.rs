//! The one error type of STIX validation and redaction: a stable code, the object and
//! the property it is about, and a human sentence.

use serde::Serialize;

/// Stable, snake_case reasons. The HTTP layer maps them (422 for STIX content, 400 for
/// malformed envelopes); their spelling is part of the API and must not change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not UTF-8 or not JSON.
    NotJson,
    /// Neither a bundle nor a TAXII envelope.
    InvalidEnvelope,
    /// More objects than one envelope may carry.
    TooManyObjects,
    /// The same id and version twice in one envelope.
    DuplicateObject,
    /// An object is not a JSON object.
    NotAnObject,
    /// A bundle where an object was expected.
    UnexpectedBundle,
    /// A required property is absent.
    MissingProperty,
    /// A property has the wrong JSON type or an out-of-range value.
    InvalidProperty,
    /// A property name breaks the STIX naming rules.
    InvalidPropertyName,
    /// `type` is not a STIX type name.
    InvalidType,
    /// `id` is not `type--UUID` (RFC 4122).
    InvalidId,
    /// The id's type prefix is not the object's `type`.
    IdTypeMismatch,
    /// `spec_version` is not `2.1`.
    UnsupportedSpecVersion,
    /// Not an RFC 3339 UTC timestamp ending in `Z`.
    InvalidTimestamp,
    /// `modified` earlier than `created`, or an end before its start.
    TimestampOrder,
    /// A `null` value (STIX says: omit the property).
    NullValue,
    /// An empty list (STIX says: omit the property).
    EmptyList,
    /// A `*_ref`/`*_refs` value that is not an identifier (of the right type).
    InvalidReference,
    /// An `object_marking_refs` entry or `marking_ref` that is not a marking-definition.
    InvalidMarkingRef,
    /// A granular marking without `marking_ref`/`lang` or `selectors`.
    InvalidGranularMarking,
    /// A granular-marking selector names no property of the object.
    DanglingSelector,
    /// A marking-definition carrying a published TLP id but another level.
    TlpMarkingMismatch,
    UnknownMarking,
    /// A redaction names an object that is not in the submission.
    UnknownObject,
    /// A redaction names a property the object does not have.
    UnknownProperty,
    /// A redaction both removes an object and edits its properties.
    ConflictingRedaction,
    /// A redaction would remove a required property, or empty a required reference.
    RequiredProperty,
    /// Markings cannot be redacted, and a marking still in use cannot be removed.
    MarkingNotRedactable,
    /// The redaction removes every object.
    EmptyRelease,
    /// A release parameter (time, identity) is not valid STIX.
    InvalidReleaseContext,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotJson => "not_json",
            ErrorCode::InvalidEnvelope => "invalid_envelope",
            ErrorCode::TooManyObjects => "too_many_objects",
            ErrorCode::DuplicateObject => "duplicate_object",
            ErrorCode::NotAnObject => "not_an_object",
            ErrorCode::UnexpectedBundle => "unexpected_bundle",
            ErrorCode::MissingProperty => "missing_property",
            ErrorCode::InvalidProperty => "invalid_property",
            ErrorCode::InvalidPropertyName => "invalid_property_name",
            ErrorCode::InvalidType => "invalid_type",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::IdTypeMismatch => "id_type_mismatch",
            ErrorCode::UnsupportedSpecVersion => "unsupported_spec_version",
            ErrorCode::InvalidTimestamp => "invalid_timestamp",
            ErrorCode::TimestampOrder => "timestamp_order",
            ErrorCode::NullValue => "null_value",
            ErrorCode::EmptyList => "empty_list",
            ErrorCode::InvalidReference => "invalid_reference",
            ErrorCode::InvalidMarkingRef => "invalid_marking_ref",
            ErrorCode::InvalidGranularMarking => "invalid_granular_marking",
            ErrorCode::DanglingSelector => "dangling_selector",
            ErrorCode::TlpMarkingMismatch => "tlp_marking_mismatch",
            ErrorCode::UnknownMarking => "unknown_marking",
            ErrorCode::UnknownObject => "unknown_object",
            ErrorCode::UnknownProperty => "unknown_property",
            ErrorCode::ConflictingRedaction => "conflicting_redaction",
            ErrorCode::RequiredProperty => "required_property",
            ErrorCode::MarkingNotRedactable => "marking_not_redactable",
            ErrorCode::EmptyRelease => "empty_release",
            ErrorCode::InvalidReleaseContext => "invalid_release_context",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an object, envelope or redaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{object}: {property}: {message} [{code}]")]
pub struct StixError {
    pub code: ErrorCode,
    /// The object's id; its position (`objects[3]`) if it has no usable id; `envelope`,
    /// `submission` or `release` for errors about the whole.
    pub object: String,
    /// Path of the property inside the object (`object_refs[2]`,
    /// `granular_markings[0].selectors[1]`); empty for the whole object.
    pub property: String,
    pub message: String,
}

impl StixError {
    pub fn new(
        code: ErrorCode,
        object: impl Into<String>,
        property: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        StixError {
            code,
            object: object.into(),
            property: property.into(),
            message: message.into(),
        }
    }
}
