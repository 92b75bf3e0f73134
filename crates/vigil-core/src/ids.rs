//! Identifier formats (spec §1.9).

/// Video source and group ids: UUID strings, which match `^[a-z0-9_-]{4,36}$`.
pub fn new_resource_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Project and task ids: 32 lowercase hex characters.
pub fn new_hex32_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A UUID-v4-shaped id derived from `seed`: the same seed gives the same id on every server
/// (built-in algorithms' `alg_id` and `service_id`).
pub fn stable_uuid(seed: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

/// `^[a-z0-9_-]{4,36}$`
pub fn is_resource_id(s: &str) -> bool {
    (4..=36).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `^[A-Za-z0-9]{1,64}$` (spec §1.2, accepted form of a project id in paths).
pub fn is_project_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_match_their_formats() {
        assert!(is_resource_id(&new_resource_id()));
        let p = new_hex32_id();
        assert_eq!(p.len(), 32);
        assert!(p.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(!is_resource_id("ABC"));
        assert!(!is_resource_id("abc"));
        assert!(!is_project_id("a/b"));
    }
}
