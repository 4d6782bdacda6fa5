//! A minimal software authenticator for the passkey tests: one P-256 (ES256) credential, a
//! "none" attestation at creation and signed assertions after, with user presence and user
//! verification flagged, and a sign counter it keeps (or not). The CBOR is written by hand: it
//! is a few maps of integers and byte strings.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// One discoverable credential held by the authenticator.
pub struct SoftKey {
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
    key: SigningKey,
    rp_id: String,
    /// The next assertion's counter is this plus one; `None` for an authenticator that keeps no
    /// counter (it reports 0 every time, as synced passkeys do).
    pub counter: Option<u32>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(value.as_str().expect("a base64url string")).expect("base64url")
}

fn cbor_head(out: &mut Vec<u8>, major: u8, n: usize) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=255 => out.extend([m | 24, n as u8]),
        _ => out.extend([m | 25, (n >> 8) as u8, n as u8]),
    }
}

/// A CBOR integer (small ones are all the keys and values here).
fn cbor_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 { cbor_head(out, 0, n as usize) } else { cbor_head(out, 1, (-1 - n) as usize) }
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    cbor_head(out, 2, bytes.len());
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor_head(out, 3, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).unwrap();
    bytes
}

fn client_data(kind: &str, challenge: &Value, origin: &str) -> Vec<u8> {
    let challenge = challenge.as_str().expect("challenge");
    json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false }).to_string().into_bytes()
}

impl SoftKey {
    /// Answers `navigator.credentials.create` options (the `options` of the server's JSON) as a
    /// browser on `origin` would: the key and the credential JSON to post back.
    pub fn create(options: &Value, origin: &str) -> (Self, Value) {
        let pk = &options["publicKey"];
        let rp_id = pk["rp"]["id"].as_str().expect("rp.id").to_owned();
        let user_handle = unb64(&pk["user"]["id"]);
        let key = loop {
            if let Ok(key) = SigningKey::from_slice(&random_bytes::<32>()) {
                break key;
            }
        };
        let credential_id = random_bytes::<16>().to_vec();
        let soft = Self { credential_id, user_handle, key, rp_id, counter: Some(0) };
        let client_data = client_data("webauthn.create", &pk["challenge"], origin);
        let point = soft.key.verifying_key().to_sec1_point(false);
        let xy = &point.as_bytes()[1..];
        let mut cose = Vec::new();
        cbor_head(&mut cose, 5, 5);
        for (k, v) in [(1, 2), (3, -7), (-1, 1)] {
            cbor_int(&mut cose, k);
            cbor_int(&mut cose, v);
        }
        cbor_int(&mut cose, -2);
        cbor_bytes(&mut cose, &xy[..32]);
        cbor_int(&mut cose, -3);
        cbor_bytes(&mut cose, &xy[32..]);
        // Flags: user present, user verified, attested credential data.
        let mut auth_data = soft.auth_data(0x45, 0);
        auth_data.extend([0u8; 16]);
        auth_data.extend((soft.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&soft.credential_id);
        auth_data.extend(cose);
        let mut attestation = Vec::new();
        cbor_head(&mut attestation, 5, 3);
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        cbor_head(&mut attestation, 5, 0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);
        let credential = json!({
            "id": b64(&soft.credential_id),
            "rawId": b64(&soft.credential_id),
            "type": "public-key",
            "extensions": {},
            "response": { "clientDataJSON": b64(&client_data), "attestationObject": b64(&attestation) },
        });
        (soft, credential)
    }

    fn auth_data(&self, flags: u8, counter: u32) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend(counter.to_be_bytes());
        data
    }

    /// Answers `navigator.credentials.get` options with an assertion, counting up the counter.
    pub fn assert(&mut self, options: &Value, origin: &str) -> Value {
        let counter = match self.counter.as_mut() {
            Some(c) => {
                *c += 1;
                *c
            }
            None => 0,
        };
        self.assert_with_counter(options, origin, counter)
    }

    /// An assertion with the given counter (a cloned authenticator's, for the regression test).
    pub fn assert_with_counter(&self, options: &Value, origin: &str, counter: u32) -> Value {
        let pk = &options["publicKey"];
        let client_data = client_data("webauthn.get", &pk["challenge"], origin);
        // Flags: user present, user verified.
        let auth_data = self.auth_data(0x05, counter);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "extensions": {},
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(&signature.to_der().to_bytes()),
                "userHandle": b64(&self.user_handle),
            },
        })
    }

    /// The same key under another user handle (to present it as another account's).
    pub fn with_user_handle(&self, user_handle: Vec<u8>) -> Self {
        Self {
            credential_id: self.credential_id.clone(),
            user_handle,
            key: self.key.clone(),
            rp_id: self.rp_id.clone(),
            counter: self.counter,
        }
    }
}
