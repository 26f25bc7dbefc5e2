use super::*;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const OTHER: &[u8] = b"fedcba9876543210fedcba9876543210";
const NONCE: [u8; 24] = [7; 24];

fn now() -> Timestamp {
    "2026-12-01T10:00:00Z".parse().unwrap()
}

fn payload(url: &str) -> Payload {
    Payload {
        url: url.into(),
        site: "default".into(),
        name: Some("december".into()),
        meta: BTreeMap::from([("campaign".to_owned(), "2026-12".to_owned())]),
        expires: None,
    }
}

fn keys(encrypt: bool) -> LinkKeys {
    LinkKeys::new(SECRET, &[], encrypt)
}

#[test]
fn a_minted_link_opens_to_its_payload_signed_or_encrypted() {
    for encrypt in [false, true] {
        let (token, id) = keys(encrypt)
            .mint(&payload("https://example.com/a?b=1"), NONCE)
            .unwrap();
        let opened = keys(encrypt).open(&token, now()).unwrap();
        assert_eq!(opened.payload, payload("https://example.com/a?b=1"));
        assert_eq!(opened.id, id);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}

#[test]
fn an_encrypted_link_does_not_show_its_metadata_and_a_signed_one_does() {
    let plain = URL_SAFE_NO_PAD.decode(keys(false).mint(&payload("https://example.com/"), NONCE).unwrap().0);
    assert!(String::from_utf8_lossy(&plain.unwrap()).contains("2026-12"));
    let sealed = URL_SAFE_NO_PAD.decode(keys(true).mint(&payload("https://example.com/"), NONCE).unwrap().0);
    let sealed = sealed.unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("2026-12"));
    assert!(!String::from_utf8_lossy(&sealed).contains("example"));
}

#[test]
fn the_same_link_minted_twice_is_one_link_whatever_the_layout() {
    let (_, a) = keys(false).mint(&payload("https://example.com/"), NONCE).unwrap();
    let (_, b) = keys(true).mint(&payload("https://example.com/"), [9; 24]).unwrap();
    let (_, c) = LinkKeys::new(OTHER, &[], false)
        .mint(&payload("https://example.com/"), NONCE)
        .unwrap();
    assert!(a == b && b == c);
    let (_, d) = keys(false).mint(&payload("https://example.com/other"), NONCE).unwrap();
    assert_ne!(a, d);
    assert_eq!(LinkId::parse(a.as_str()), Some(a));
    assert_eq!(LinkId::parse("ABC"), None);
}

#[test]
fn every_flipped_byte_and_every_truncation_is_refused() {
    for encrypt in [false, true] {
        let (token, _) = keys(encrypt).mint(&payload("https://example.com/"), NONCE).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..raw.len() {
            let mut flipped = raw.clone();
            flipped[i] ^= 0x01;
            let result = keys(encrypt).open(&URL_SAFE_NO_PAD.encode(&flipped), now());
            assert!(result.is_err(), "byte {i} flipped, encrypt {encrypt}");
            let truncated = URL_SAFE_NO_PAD.encode(&raw[..i]);
            assert!(keys(encrypt).open(&truncated, now()).is_err(), "cut at {i}");
        }
    }
}

#[test]
fn another_secret_is_refused_and_a_previous_one_still_opens() {
    for encrypt in [false, true] {
        let (token, _) = LinkKeys::new(OTHER, &[], encrypt)
            .mint(&payload("https://example.com/"), NONCE)
            .unwrap();
        assert_eq!(keys(encrypt).open(&token, now()), Err(TokenError::BadSignature));
        let rotated = LinkKeys::new(SECRET, &[OTHER], encrypt);
        assert!(rotated.open(&token, now()).is_ok());
    }
}

#[test]
fn a_re_encoded_token_is_not_the_token() {
    // A token with - or _ in it, which the standard alphabet writes as + or /.
    let token = (0..100)
        .map(|i| {
            keys(false)
                .mint(&payload(&format!("https://example.com/?q={i}")), NONCE)
                .unwrap()
                .0
        })
        .find(|t| t.contains(['-', '_']))
        .unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
    let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw);
    assert_ne!(standard, token);
    assert_eq!(keys(false).open(&standard, now()), Err(TokenError::Malformed));
    let padded = base64::engine::general_purpose::URL_SAFE.encode(&raw);
    if padded != token {
        assert_eq!(keys(false).open(&padded, now()), Err(TokenError::Malformed));
    }
    assert_eq!(keys(false).open("", now()), Err(TokenError::Malformed));
    assert_eq!(
        keys(false).open(&"A".repeat(MAX_TOKEN_CHARS + 4), now()),
        Err(TokenError::Malformed)
    );
}

#[test]
fn an_expired_link_is_refused_from_its_expiry_on() {
    let mut expiring = payload("https://example.com/");
    expiring.expires = Some(now().as_second() + 60);
    let (token, _) = keys(true).mint(&expiring, NONCE).unwrap();
    assert!(keys(true).open(&token, now()).is_ok());
    let later = Timestamp::from_second(now().as_second() + 60).unwrap();
    assert_eq!(keys(true).open(&token, later), Err(TokenError::Expired));
}

#[test]
fn only_http_destinations_are_minted_or_opened() {
    for bad in [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://example.com/",
        "//example.com/",
        "/relative",
        "https://",
        "https://user:pw@example.com/",
        "https://example.com/a b",
        "https://example.com\\@evil.com/",
        "file:///etc/passwd",
    ] {
        assert!(!is_http_url(bad), "{bad}");
        assert!(keys(false).mint(&payload(bad), NONCE).is_err(), "{bad}");
    }
    assert!(is_http_url("http://example.com"));
    assert!(is_http_url("https://EXAMPLE.com:8443/a?b#c"));
    assert_eq!(host_of("https://EXAMPLE.com:8443/a"), "example.com");
}

#[test]
fn a_token_signed_by_us_for_a_non_http_destination_is_refused() {
    // As if minted by a version with laxer rules: the MAC is valid.
    let bytes = serde_json::to_vec(&payload("javascript:alert(1)")).unwrap();
    let key = Key::derive(SECRET);
    let mut raw = vec![SIGNED];
    raw.extend_from_slice(&bytes);
    raw.extend_from_slice(&key.mac(SIGNED, &bytes));
    let token = URL_SAFE_NO_PAD.encode(raw);
    assert_eq!(keys(false).open(&token, now()), Err(TokenError::BadDestination));
}

#[test]
fn expiries_are_times_or_days_or_hours_from_now() {
    assert_eq!(parse_expiry("30d", now()), Ok(now().as_second() + 30 * 86_400));
    assert_eq!(parse_expiry("12h", now()), Ok(now().as_second() + 12 * 3_600));
    assert_eq!(parse_expiry("2027-01-01T00:00:00Z", now()).unwrap(), 1_798_761_600);
    for bad in ["", "d", "0d", "-1d", "3w", "tomorrow", "99999999d"] {
        assert!(parse_expiry(bad, now()).is_err(), "{bad}");
    }
}
