//! Small field checks shared by the inputs.

use crate::error::DomainError;

/// `value` must not be blank and must fit in `max` characters.
pub(crate) fn required(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(DomainError::validation(field, "must not be empty"));
    }
    max_len(field, value, max)
}

/// `value` must fit in `max` characters.
pub(crate) fn max_len(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    let len = value.chars().count();
    if len > max {
        return Err(DomainError::validation(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    Ok(())
}

/// `value` must be an absolute `http` or `https` URL.
pub(crate) fn http_url(field: &str, value: &str) -> Result<(), DomainError> {
    let url = url::Url::parse(value)
        .map_err(|e| DomainError::validation(field, format!("is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DomainError::validation(
            field,
            "must be an http or https URL",
        ));
    }
    Ok(())
}

/// `None` for a missing or blank string, the string otherwise.
pub(crate) fn non_blank(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Every id in the list `list` (items `{key: id}`) must be distinct.
pub(crate) fn no_duplicate_ids(
    list: &str,
    key: &str,
    ids: &[uuid::Uuid],
) -> Result<(), DomainError> {
    let mut seen = std::collections::HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if !seen.insert(id) {
            return Err(DomainError::validation(
                format!("{list}[{i}].{key}"),
                format!("{id} is listed more than once"),
            ));
        }
    }
    Ok(())
}
