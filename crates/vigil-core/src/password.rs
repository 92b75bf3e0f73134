//! Password hashing for IAM users (argon2id, PHC string format).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    // Hashing with the default parameters and a fresh salt cannot fail.
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_and_verify() {
        let h = super::hash("pw");
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("pw", &h));
        assert!(!super::verify("wrong", &h));
        assert!(!super::verify("pw", "not-a-hash"));
    }
}
