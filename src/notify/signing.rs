//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the
//! secret is given as `whsec_<base64>`; each message carries `webhook-id`,
//! `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 of
//! HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, so receivers can verify
//! with the spec's libraries. Pure.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// A receiver's signing key, decoded from its `whsec_` secret.
#[derive(Clone)]
pub struct SigningKey(Hmac<Sha256>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl SigningKey {
    /// # Errors
    /// A message saying what is wrong (never the secret).
    pub fn parse(secret: &str) -> Result<Self, String> {
        let encoded = secret
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("must be `{PREFIX}` followed by base64"))?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| format!("the part after `{PREFIX}` is not base64"))?;
        if !(24..=64).contains(&key.len()) {
            return Err(format!("the key must be 24 to 64 bytes (it is {})", key.len()));
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| "the key cannot be used".to_owned())?;
        Ok(Self(mac))
    }

    /// The `webhook-signature` value for one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specs_example_signature_is_reproduced() {
        // The example of the Standard Webhooks specification.
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_must_be_whsec_base64_of_a_sane_length() {
        for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_YWJj"] {
            assert!(SigningKey::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!(
            "{:?}",
            SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
        )
        .contains("Mf"));
    }
}
