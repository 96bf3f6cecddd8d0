//! RFC 6030 PSKC import: the vendors' XML seed files, plaintext or AES-CBC encrypted with a MAC.
//!
//! # What is read
//!
//! A `KeyContainer` with any number of `KeyPackage`s, each holding one `Key`:
//!
//! | item | where |
//! | --- | --- |
//! | serial | `KeyPackage/DeviceInfo/SerialNo` (required) |
//! | kind | `Key/@Algorithm`: `urn:ietf:params:xml:ns:keyprov:pskc:totp` (also `…pskc#totp` and the older vendor URI `http://www.ietf.org/keyprov/pskc#totp`); HOTP URIs are recognised and refused: Kefu's tokens are time-based |
//! | hash | `Key/AlgorithmParameters/Suite` (`HMAC-SHA1`, `HMAC-SHA256`, `HMAC-SHA512`), SHA-1 when absent |
//! | digits | `Key/AlgorithmParameters/ResponseFormat/@Length` (6–8; `@Encoding`, if given, `DECIMAL`), 6 when absent |
//! | step | `Key/Data/TimeInterval/PlainValue`, or `Key/Policy/TimeInterval` (text or `PlainValue`); [`PskcOptions::default_step_secs`] (60) when absent |
//! | secret | `Key/Data/Secret/PlainValue` (base64) or `Key/Data/Secret/EncryptedValue` + `ValueMAC` |
//!
//! Encrypted secrets: `EncryptedValue/EncryptionMethod/@Algorithm` is
//! `http://www.w3.org/2001/04/xmlenc#aes128-cbc` (or `aes192-cbc`, `aes256-cbc`),
//! `CipherData/CipherValue` is base64 of IV ‖ ciphertext, padding per XML Encryption
//! (last byte = padding length). The file key is either a pre-shared key given by the
//! operator (`EncryptionKey/KeyName`, or no `EncryptionKey`) or derived from the
//! operator's password with PBKDF2 (`EncryptionKey/DerivedKey`, salt, iteration count,
//! key length, PRF HMAC-SHA1 by default). `MACMethod` names the HMAC (SHA-1 by default
//! in practice) and carries the MAC key, encrypted with the file key; each secret's
//! `ValueMAC` is that HMAC over IV ‖ ciphertext, checked in constant time *before*
//! decrypting.
//!
//! Element and attribute names are matched by local name (any namespace prefix);
//! unknown elements (`Issuer`, `Counter`, `Time`, `TimeDrift`, `Signature`, extensions)
//! are ignored. `ValueMAC` on a `PlainValue` is ignored.
//!
//! # Rules
//!
//! - All or nothing: any error (a bad MAC on any key, a missing serial, a repeated
//!   serial, …) imports nothing. Every error names the path of the element at fault,
//!   with 1-based `KeyPackage[n]` indexes, e.g.
//!   `KeyPackage[2]/Key/Data/Secret/ValueMAC: MAC mismatch …`.
//! - Limits, checked before the work they bound: file size, number of keys, PBKDF2
//!   iterations the file may ask for ([`PskcOptions`]), element nesting depth and
//!   elements per top-level item. Document type declarations are refused (no entity
//!   expansion at all); only XML's predefined entities and character references are
//!   resolved.
//! - Never panics on any input: the file is attacker-controlled.
//!
//! The parse streams the container and builds a small tree for one top-level item
//! (`EncryptionKey`, `MACMethod`, one `KeyPackage`) at a time, keeping memory
//! proportional to the keys, not to the markup.

// Decodes peer or file input: no panicking shortcuts (style rule 5); tests may use them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use std::collections::HashMap;
use std::num::NonZeroU32;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use ring::{hmac, pbkdf2};
use thiserror::Error;
use zeroize::Zeroizing;

use super::hotp::{Algorithm, Digits};
use super::{check_secret_len, check_serial, totp, ImportLimits, ImportedSeed, Secret};

/// How to read a PSKC file: the operator's key material and the limits.
#[derive(Clone, Debug)]
pub struct PskcOptions {
    /// The pre-shared AES key (16, 24 or 32 bytes), for files encrypted with one.
    pub pre_shared_key: Option<Secret>,
    /// The password, for files whose key is derived with PBKDF2.
    pub password: Option<Secret>,
    /// The most PBKDF2 iterations a file may ask for.
    pub max_pbkdf2_iterations: u32,
    /// File size and key count limits.
    pub limits: ImportLimits,
    /// Step of TOTP keys that do not give one.
    pub default_step_secs: NonZeroU32,
}

impl Default for PskcOptions {
    /// No key material, at most 1,000,000 PBKDF2 iterations, default limits, 60 s.
    fn default() -> PskcOptions {
        PskcOptions {
            pre_shared_key: None,
            password: None,
            max_pbkdf2_iterations: 1_000_000,
            limits: ImportLimits::default(),
            default_step_secs: totp::DEFAULT_STEP_SECS,
        }
    }
}

/// Why a PSKC file was refused: where, and what.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{path}: {kind}")]
pub struct PskcError {
    /// Path of the element or attribute at fault, e.g. `KeyPackage[2]/Key/@Algorithm`;
    /// `KeyContainer` for the file as a whole.
    pub path: String,
    /// What is wrong.
    pub kind: PskcErrorKind,
}

/// What is wrong with a PSKC file.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PskcErrorKind {
    /// Larger than the limit.
    #[error("file is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// The file's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// More keys than the limit.
    #[error("more than {max} keys in one file")]
    TooManyKeys {
        /// The limit.
        max: usize,
    },
    /// Not UTF-8.
    #[error("not UTF-8 text (byte {0})")]
    NotUtf8(usize),
    /// Not well-formed XML.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// A document type declaration (refused: no entity expansion).
    #[error("document type declarations are not accepted")]
    DocType,
    /// Nested deeper than the limit, or too many elements in one item.
    #[error("too deeply nested or too many elements")]
    TooComplex,
    /// The root element is not a `KeyContainer`.
    #[error("root element is <{0}>, expected <KeyContainer>")]
    WrongRoot(String),
    /// A required element or attribute is absent.
    #[error("missing")]
    Missing,
    /// An element that may appear once appears again.
    #[error("appears more than once")]
    Duplicate,
    /// A value is malformed.
    #[error("invalid: {0}")]
    Invalid(String),
    /// An algorithm or feature this importer does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The file is encrypted and the needed key material was not given.
    #[error("{0}")]
    NoKeyGiven(&'static str),
    /// The file asks for more PBKDF2 iterations than allowed.
    #[error("the file asks for {asked} PBKDF2 iterations, more than the limit of {max}")]
    IterationsTooHigh {
        /// The count in the file (saturated at `u64::MAX`).
        asked: u64,
        /// The limit.
        max: u32,
    },
    /// A `ValueMAC` does not match: altered file, or wrong key or password.
    #[error("MAC mismatch (the file was altered, or the key or password is wrong)")]
    MacMismatch,
    /// Decryption gave invalid padding (after a good MAC: the file's producer erred),
    /// or the MAC key would not decrypt (wrong key or password).
    #[error("cannot decrypt (wrong key or password, or damaged value)")]
    DecryptionFailed,
    /// The serial appeared in an earlier key package.
    #[error("serial {serial:?} already in KeyPackage[{first}]")]
    DuplicateSerial {
        /// The serial.
        serial: String,
        /// 1-based index of the first key package with it.
        first: usize,
    },
    /// No key package at all.
    #[error("no KeyPackage in file")]
    NoKeys,
}

impl PskcError {
    fn new(path: impl Into<String>, kind: PskcErrorKind) -> PskcError {
        PskcError {
            path: path.into(),
            kind,
        }
    }
}

/// Imports every key of a PSKC file, or nothing.
pub fn import(xml: &[u8], options: &PskcOptions) -> Result<Vec<ImportedSeed>, PskcError> {
    let keys = import_keys(xml, options)?;
    if let Some(key) = keys.iter().find(|k| k.kind == Kind::Hotp) {
        return Err(PskcError::new(
            format!("KeyPackage[{}]/Key/@Algorithm", key.index),
            PskcErrorKind::Unsupported(
                "HOTP (event-based) keys; Kefu tokens are time-based (TOTP)".into(),
            ),
        ));
    }
    Ok(keys.into_iter().map(|k| k.seed).collect())
}

/// [`import`] with the default limits and the operator's key material as typed: the
/// pre-shared key in hex, the password as text.
pub fn import_file(
    xml: &[u8],
    pre_shared_key_hex: Option<&str>,
    password: Option<&str>,
) -> Result<Vec<ImportedSeed>, PskcError> {
    let pre_shared_key = match pre_shared_key_hex {
        None => None,
        Some(hex) => Some(Secret::new(super::decode_hex(hex.trim()).ok_or_else(
            || {
                PskcError::new(
                    "(pre-shared key given)",
                    PskcErrorKind::Invalid("not hexadecimal".into()),
                )
            },
        )?)),
    };
    let options = PskcOptions {
        pre_shared_key,
        password: password.map(|p| Secret::new(p.as_bytes().to_vec())),
        ..PskcOptions::default()
    };
    import(xml, &options)
}

// ---------------------------------------------------------------------------------------
// The whole file: parse, then decrypt.

/// Deepest element nesting accepted within the container.
const MAX_DEPTH: usize = 32;
/// Most elements in one top-level item (a `KeyPackage` has about 20).
const MAX_ITEM_ELEMENTS: usize = 4096;
/// Longest salt accepted, in bytes.
const MAX_SALT_LEN: usize = 1024;
/// Longest step accepted, in seconds (a day).
const MAX_STEP_SECS: u32 = 86_400;

const PBKDF2_URIS: [&str; 2] = [
    "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2",
    "http://www.w3.org/2009/xmlenc11#pbkdf2",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Totp,
    Hotp,
}

/// One imported key with what `import` needs to judge it.
struct KeyOut {
    index: usize,
    kind: Kind,
    seed: ImportedSeed,
}

/// Parses and decrypts, accepting HOTP keys too (the caller decides).
fn import_keys(xml: &[u8], options: &PskcOptions) -> Result<Vec<KeyOut>, PskcError> {
    let limits = &options.limits;
    if xml.len() > limits.max_file_bytes {
        return Err(PskcError::new(
            ROOT,
            PskcErrorKind::TooLarge {
                size: xml.len(),
                max: limits.max_file_bytes,
            },
        ));
    }
    let xml = xml.strip_prefix(b"\xef\xbb\xbf").unwrap_or(xml);
    let text = std::str::from_utf8(xml)
        .map_err(|e| PskcError::new(ROOT, PskcErrorKind::NotUtf8(e.valid_up_to())))?;
    let container = parse_container(text, options)?;
    if container.keys.is_empty() {
        return Err(PskcError::new(ROOT, PskcErrorKind::NoKeys));
    }
    let secrets = reveal_secrets(&container, options)?;
    let mut out = Vec::with_capacity(container.keys.len());
    for (key, secret) in container.keys.into_iter().zip(secrets) {
        check_secret_len(secret.len()).map_err(|why| {
            PskcError::new(
                format!("KeyPackage[{}]/Key/Data/Secret", key.index),
                PskcErrorKind::Invalid(why.into()),
            )
        })?;
        out.push(KeyOut {
            index: key.index,
            kind: key.kind,
            seed: ImportedSeed {
                serial: key.serial,
                secret,
                algorithm: key.algorithm,
                digits: key.digits,
                step_secs: key.step_secs,
            },
        });
    }
    Ok(out)
}

/// The file key and the MAC key, once the operator's key material has opened them.
struct Unlocked {
    file_key: Zeroizing<Vec<u8>>,
    mac_key: hmac::Key,
}

/// Every key's plaintext secret, in order. The operator's key material is needed only
/// when some value is encrypted; then every MAC is checked before anything is
/// decrypted.
fn reveal_secrets(container: &Container, options: &PskcOptions) -> Result<Vec<Secret>, PskcError> {
    let any_encrypted = container
        .keys
        .iter()
        .any(|k| matches!(k.secret, RawSecret::Encrypted(_)));
    let unlocked = if any_encrypted {
        Some(unlock(container, options)?)
    } else {
        None
    };
    if let Some(unlocked) = &unlocked {
        for key in &container.keys {
            if let RawSecret::Encrypted(secret) = &key.secret {
                let value = &secret.data.cipher_value;
                if hmac::verify(&unlocked.mac_key, value, &secret.mac).is_err() {
                    return Err(PskcError::new(
                        format!("KeyPackage[{}]/Key/Data/Secret/ValueMAC", key.index),
                        PskcErrorKind::MacMismatch,
                    ));
                }
            }
        }
    }
    container
        .keys
        .iter()
        .map(|key| match (&key.secret, &unlocked) {
            (RawSecret::Plain(secret), _) => Ok(secret.clone()),
            (RawSecret::Encrypted(secret), Some(unlocked)) => {
                let plain = decrypt(&secret.data, &unlocked.file_key).map_err(|kind| {
                    let hint = secret.data.path_hint;
                    let path = format!(
                        "KeyPackage[{}]/Key/Data/Secret/EncryptedValue/{hint}",
                        key.index
                    );
                    PskcError::new(path, kind)
                })?;
                Ok(Secret::new(plain.to_vec()))
            }
            // Not reached: `unlocked` is there whenever a value is encrypted.
            (RawSecret::Encrypted(_), None) => Err(PskcError::new(ROOT, PskcErrorKind::Missing)),
        })
        .collect()
}

/// Derives or takes the file key and decrypts the MAC key with it.
fn unlock(container: &Container, options: &PskcOptions) -> Result<Unlocked, PskcError> {
    let file_key = file_key(container.encryption_key.as_ref(), options)?;
    let mac = container
        .mac_method
        .as_ref()
        .ok_or_else(|| PskcError::new("MACMethod", PskcErrorKind::Missing))?;
    // Bad padding here almost always means the wrong key or password.
    let mac_key = decrypt(&mac.key, &file_key)
        .map_err(|kind| PskcError::new(format!("MACMethod/MACKey/{}", mac.key.path_hint), kind))?;
    Ok(Unlocked {
        mac_key: hmac::Key::new(mac.algorithm, &mac_key),
        file_key,
    })
}

/// The key that decrypts the file's values, from the operator's key or password.
fn file_key(
    spec: Option<&EncryptionKeySpec>,
    options: &PskcOptions,
) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    match spec {
        Some(EncryptionKeySpec::Pbkdf2(params)) => {
            let password = options.password.as_ref().ok_or_else(|| {
                PskcError::new(
                    "EncryptionKey/DerivedKey",
                    PskcErrorKind::NoKeyGiven(
                        "the secrets are encrypted with a key derived from a password (PBKDF2); give the password",
                    ),
                )
            })?;
            let mut key = Zeroizing::new(vec![0u8; params.key_len]);
            pbkdf2::derive(
                params.prf,
                params.iterations,
                &params.salt,
                password.expose(),
                &mut key,
            );
            Ok(key)
        }
        Some(EncryptionKeySpec::PreShared) | None => {
            let key = options.pre_shared_key.as_ref().ok_or_else(|| {
                PskcError::new(
                    if spec.is_some() {
                        "EncryptionKey"
                    } else {
                        ROOT
                    },
                    PskcErrorKind::NoKeyGiven(
                        "the secrets are encrypted with a pre-shared key; give the key",
                    ),
                )
            })?;
            if !matches!(key.len(), 16 | 24 | 32) {
                return Err(PskcError::new(
                    "EncryptionKey",
                    PskcErrorKind::Invalid(
                        "the pre-shared key given is not 16, 24 or 32 bytes".into(),
                    ),
                ));
            }
            Ok(Zeroizing::new(key.expose().to_vec()))
        }
    }
}

/// AES-CBC decryption of IV ‖ ciphertext with XML Encryption padding.
fn decrypt(data: &CipherText, key: &[u8]) -> Result<Zeroizing<Vec<u8>>, PskcErrorKind> {
    if key.len() != data.cipher.key_len() {
        return Err(PskcErrorKind::Unsupported(format!(
            "{} needs a {}-byte key, the file key has {} bytes",
            data.cipher.name(),
            data.cipher.key_len(),
            key.len()
        )));
    }
    let bytes = &data.cipher_value;
    if bytes.len() < 32 || !bytes.chunks_exact(16).remainder().is_empty() {
        return Err(PskcErrorKind::Invalid(format!(
            "CipherValue is {} bytes; expected a 16-byte IV and whole 16-byte blocks",
            bytes.len()
        )));
    }
    let (iv, body) = bytes.split_at(16);
    let mut buf = Zeroizing::new(body.to_vec());
    let bad = |_| PskcErrorKind::DecryptionFailed;
    let len = match data.cipher {
        Cbc::Aes128 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| PskcErrorKind::DecryptionFailed)?
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(bad)?
            .len(),
        Cbc::Aes192 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map_err(|_| PskcErrorKind::DecryptionFailed)?
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(bad)?
            .len(),
        Cbc::Aes256 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| PskcErrorKind::DecryptionFailed)?
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(bad)?
            .len(),
    };
    // XML Encryption: the last byte is the padding length (1..=16); the padding bytes
    // themselves are arbitrary.
    buf.truncate(len);
    let pad = usize::from(buf.last().copied().unwrap_or(0));
    if pad == 0 || pad > 16 || pad > len {
        return Err(PskcErrorKind::DecryptionFailed);
    }
    buf.truncate(len - pad);
    Ok(buf)
}

// ---------------------------------------------------------------------------------------
// The container: stream top-level items, one small tree each.

const ROOT: &str = "KeyContainer";

#[derive(Default)]
struct Container {
    encryption_key: Option<EncryptionKeySpec>,
    mac_method: Option<MacMethod>,
    keys: Vec<RawKey>,
}

enum EncryptionKeySpec {
    PreShared,
    Pbkdf2(Pbkdf2Params),
}

struct Pbkdf2Params {
    prf: pbkdf2::Algorithm,
    iterations: NonZeroU32,
    salt: Vec<u8>,
    key_len: usize,
}

struct MacMethod {
    algorithm: hmac::Algorithm,
    key: CipherText,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cbc {
    Aes128,
    Aes192,
    Aes256,
}

impl Cbc {
    fn from_uri(uri: &str) -> Option<Cbc> {
        match uri {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Some(Cbc::Aes128),
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Some(Cbc::Aes192),
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Some(Cbc::Aes256),
            _ => None,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Cbc::Aes128 => 16,
            Cbc::Aes192 => 24,
            Cbc::Aes256 => 32,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cbc::Aes128 => "aes128-cbc",
            Cbc::Aes192 => "aes192-cbc",
            Cbc::Aes256 => "aes256-cbc",
        }
    }
}

/// An xenc `EncryptionMethod` + `CipherData/CipherValue` pair.
struct CipherText {
    cipher: Cbc,
    cipher_value: Vec<u8>,
    /// Where the cipher value sits below the element holding it, for errors.
    path_hint: &'static str,
}

struct EncryptedSecret {
    data: CipherText,
    mac: Vec<u8>,
}

enum RawSecret {
    Plain(Secret),
    Encrypted(EncryptedSecret),
}

struct RawKey {
    index: usize,
    serial: String,
    kind: Kind,
    algorithm: Algorithm,
    digits: Digits,
    step_secs: NonZeroU32,
    secret: RawSecret,
}

fn parse_container(text: &str, options: &PskcOptions) -> Result<Container, PskcError> {
    let mut xml = Xml::new(text);
    // Prolog: up to the root element.
    let (root, root_is_empty) = loop {
        match xml.next(ROOT)? {
            Event::Start(e) => break (start_element(&e, ROOT)?, false),
            Event::Empty(e) => break (start_element(&e, ROOT)?, true),
            Event::Text(t) if is_blank(&t) => {}
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            Event::Eof => {
                return Err(PskcError::new(
                    ROOT,
                    PskcErrorKind::Xml("no root element".into()),
                ))
            }
            _ => {
                return Err(PskcError::new(
                    ROOT,
                    PskcErrorKind::Xml("content before the root element".into()),
                ))
            }
        }
    };
    if root.name != ROOT {
        return Err(PskcError::new(ROOT, PskcErrorKind::WrongRoot(root.name)));
    }

    let mut container = Container::default();
    let mut serials: HashMap<String, usize> = HashMap::new();
    let mut packages = 0usize;
    if !root_is_empty {
        loop {
            let (item, is_empty) = match xml.next(ROOT)? {
                Event::Start(e) => (start_element(&e, ROOT)?, false),
                Event::Empty(e) => (start_element(&e, ROOT)?, true),
                Event::End(_) => break,
                Event::Eof => {
                    return Err(PskcError::new(
                        ROOT,
                        PskcErrorKind::Xml("unexpected end of file".into()),
                    ))
                }
                // Text, comments and the like directly in the container mean nothing.
                _ => continue,
            };
            let path = match item.name.as_str() {
                "KeyPackage" => {
                    packages += 1;
                    if packages > options.limits.max_keys {
                        return Err(PskcError::new(
                            format!("KeyPackage[{packages}]"),
                            PskcErrorKind::TooManyKeys {
                                max: options.limits.max_keys,
                            },
                        ));
                    }
                    format!("KeyPackage[{packages}]")
                }
                other => other.to_owned(),
            };
            let item = if is_empty {
                item
            } else {
                xml.read_item(item, &path)?
            };
            match item.name.as_str() {
                "EncryptionKey" => {
                    if container.encryption_key.is_some() {
                        return Err(PskcError::new(path, PskcErrorKind::Duplicate));
                    }
                    container.encryption_key = Some(parse_encryption_key(&item, options)?);
                }
                "MACMethod" => {
                    if container.mac_method.is_some() {
                        return Err(PskcError::new(path, PskcErrorKind::Duplicate));
                    }
                    container.mac_method = Some(parse_mac_method(&item)?);
                }
                "KeyPackage" => {
                    let key = parse_key_package(&item, packages, &path, options)?;
                    if let Some(&first) = serials.get(&key.serial) {
                        return Err(PskcError::new(
                            format!("{path}/DeviceInfo/SerialNo"),
                            PskcErrorKind::DuplicateSerial {
                                serial: key.serial,
                                first,
                            },
                        ));
                    }
                    serials.insert(key.serial.clone(), packages);
                    container.keys.push(key);
                }
                _ => {}
            }
        }
    }
    // Epilog: nothing but blanks, comments and processing instructions.
    loop {
        match xml.next(ROOT)? {
            Event::Eof => break,
            Event::Text(t) if is_blank(&t) => {}
            Event::Comment(_) | Event::PI(_) => {}
            _ => {
                return Err(PskcError::new(
                    ROOT,
                    PskcErrorKind::Xml("content after the root element".into()),
                ))
            }
        }
    }
    Ok(container)
}

fn parse_encryption_key(
    item: &Element,
    options: &PskcOptions,
) -> Result<EncryptionKeySpec, PskcError> {
    let path = "EncryptionKey";
    let Some(derived) = item.child("DerivedKey", path)? else {
        if let Some(other) = item.children.iter().find(|c| c.name != "KeyName") {
            return Err(PskcError::new(
                format!("{path}/{}", other.name),
                PskcErrorKind::Unsupported(
                    "only a pre-shared key (KeyName) or a PBKDF2 DerivedKey is supported".into(),
                ),
            ));
        }
        return Ok(EncryptionKeySpec::PreShared);
    };
    let path = format!("{path}/DerivedKey");
    let method_path = format!("{path}/KeyDerivationMethod");
    let method = item_required(derived, "KeyDerivationMethod", &path)?;
    let uri = method.attr_required("Algorithm", &method_path)?;
    if !PBKDF2_URIS.contains(&uri) {
        return Err(PskcError::new(
            format!("{method_path}/@Algorithm"),
            PskcErrorKind::Unsupported(format!("key derivation {uri:?} (only PBKDF2)")),
        ));
    }
    let params_path = format!("{method_path}/PBKDF2-params");
    let params = item_required(method, "PBKDF2-params", &method_path)?;

    let count_path = format!("{params_path}/IterationCount");
    let count_text = item_required(params, "IterationCount", &params_path)?.text();
    if count_text.is_empty() || !count_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PskcError::new(
            count_path,
            PskcErrorKind::Invalid(format!("{count_text:?} is not a number")),
        ));
    }
    let asked = count_text.parse::<u64>().unwrap_or(u64::MAX);
    if asked > u64::from(options.max_pbkdf2_iterations) {
        return Err(PskcError::new(
            count_path,
            PskcErrorKind::IterationsTooHigh {
                asked,
                max: options.max_pbkdf2_iterations,
            },
        ));
    }
    let iterations = u32::try_from(asked)
        .ok()
        .and_then(NonZeroU32::new)
        .ok_or_else(|| {
            PskcError::new(
                &count_path,
                PskcErrorKind::Invalid("zero iterations".into()),
            )
        })?;

    let salt_path = format!("{params_path}/Salt/Specified");
    let salt_el = item_required(params, "Salt", &params_path)?;
    let salt = base64_value(
        item_required(salt_el, "Specified", &format!("{params_path}/Salt"))?,
        &salt_path,
    )?;
    if salt.is_empty() || salt.len() > MAX_SALT_LEN {
        return Err(PskcError::new(
            salt_path,
            PskcErrorKind::Invalid(format!("salt must be 1 to {MAX_SALT_LEN} bytes")),
        ));
    }

    let key_len = match params.child("KeyLength", &params_path)? {
        None => 16,
        Some(el) => match el.text().parse::<usize>() {
            Ok(n @ (16 | 24 | 32)) => n,
            _ => {
                return Err(PskcError::new(
                    format!("{params_path}/KeyLength"),
                    PskcErrorKind::Invalid(format!("{:?}: must be 16, 24 or 32", el.text())),
                ))
            }
        },
    };

    let prf = match params
        .child("PRF", &params_path)?
        .and_then(|p| p.attr("Algorithm"))
    {
        None => pbkdf2::PBKDF2_HMAC_SHA1,
        Some(uri) => match hmac_name(uri) {
            Some("sha1") => pbkdf2::PBKDF2_HMAC_SHA1,
            Some("sha256") => pbkdf2::PBKDF2_HMAC_SHA256,
            Some("sha384") => pbkdf2::PBKDF2_HMAC_SHA384,
            Some("sha512") => pbkdf2::PBKDF2_HMAC_SHA512,
            _ => {
                return Err(PskcError::new(
                    format!("{params_path}/PRF/@Algorithm"),
                    PskcErrorKind::Unsupported(format!("PRF {uri:?}")),
                ))
            }
        },
    };
    Ok(EncryptionKeySpec::Pbkdf2(Pbkdf2Params {
        prf,
        iterations,
        salt,
        key_len,
    }))
}

fn parse_mac_method(item: &Element) -> Result<MacMethod, PskcError> {
    let path = "MACMethod";
    let uri = item.attr_required("Algorithm", path)?;
    let algorithm = match hmac_name(uri) {
        Some("sha1") => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        Some("sha256") => hmac::HMAC_SHA256,
        Some("sha384") => hmac::HMAC_SHA384,
        Some("sha512") => hmac::HMAC_SHA512,
        _ => {
            return Err(PskcError::new(
                format!("{path}/@Algorithm"),
                PskcErrorKind::Unsupported(format!("MAC algorithm {uri:?}")),
            ))
        }
    };
    let key_path = format!("{path}/MACKey");
    let mac_key = item_required(item, "MACKey", path)?;
    if mac_key.child("PlainValue", &key_path)?.is_some() {
        return Err(PskcError::new(
            format!("{key_path}/PlainValue"),
            PskcErrorKind::Unsupported("a MAC key in plain text".into()),
        ));
    }
    Ok(MacMethod {
        algorithm,
        key: cipher_text(mac_key, &key_path)?,
    })
}

/// `EncryptionMethod/@Algorithm` and `CipherData/CipherValue` of `el`.
fn cipher_text(el: &Element, path: &str) -> Result<CipherText, PskcError> {
    let method_path = format!("{path}/EncryptionMethod");
    let method = item_required(el, "EncryptionMethod", path)?;
    let uri = method.attr_required("Algorithm", &method_path)?;
    let cipher = Cbc::from_uri(uri).ok_or_else(|| {
        PskcError::new(
            format!("{method_path}/@Algorithm"),
            PskcErrorKind::Unsupported(format!("encryption {uri:?} (only aes128/192/256-cbc)")),
        )
    })?;
    let data_path = format!("{path}/CipherData");
    let data = item_required(el, "CipherData", path)?;
    let value = item_required(data, "CipherValue", &data_path)?;
    let cipher_value = base64_value(value, &format!("{data_path}/CipherValue"))?;
    Ok(CipherText {
        cipher,
        cipher_value,
        path_hint: "CipherData/CipherValue",
    })
}

fn parse_key_package(
    item: &Element,
    index: usize,
    path: &str,
    options: &PskcOptions,
) -> Result<RawKey, PskcError> {
    let serial_path = format!("{path}/DeviceInfo/SerialNo");
    let serial = item
        .child("DeviceInfo", path)?
        .map(|d| d.child("SerialNo", &format!("{path}/DeviceInfo")))
        .transpose()?
        .flatten()
        .ok_or_else(|| PskcError::new(&serial_path, PskcErrorKind::Missing))?
        .text();
    check_serial(serial).map_err(|why| {
        PskcError::new(
            &serial_path,
            PskcErrorKind::Invalid(format!("{serial:?}: {why}")),
        )
    })?;

    let key_path = format!("{path}/Key");
    let key = item_required(item, "Key", path)?;
    let uri = key.attr_required("Algorithm", &key_path)?;
    let kind = match uri {
        "urn:ietf:params:xml:ns:keyprov:pskc:totp"
        | "urn:ietf:params:xml:ns:keyprov:pskc#totp"
        | "http://www.ietf.org/keyprov/pskc#totp" => Kind::Totp,
        "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
        | "urn:ietf:params:xml:ns:keyprov:pskc#hotp"
        | "http://www.ietf.org/keyprov/pskc#hotp" => Kind::Hotp,
        other => {
            return Err(PskcError::new(
                format!("{key_path}/@Algorithm"),
                PskcErrorKind::Unsupported(format!("algorithm {other:?} (only TOTP)")),
            ))
        }
    };

    let params_path = format!("{key_path}/AlgorithmParameters");
    let params = key.child("AlgorithmParameters", &key_path)?;
    let algorithm = match params
        .map(|p| p.child("Suite", &params_path))
        .transpose()?
        .flatten()
    {
        None => Algorithm::Sha1,
        Some(suite) => suite_algorithm(suite.text()).ok_or_else(|| {
            PskcError::new(
                format!("{params_path}/Suite"),
                PskcErrorKind::Unsupported(format!("suite {:?}", suite.text())),
            )
        })?,
    };
    let digits = response_digits(params, &params_path)?;

    let data_path = format!("{key_path}/Data");
    let data = item_required(key, "Data", &key_path)?;
    let step_secs = step_secs(key, data, &key_path)?.unwrap_or(options.default_step_secs);

    let secret_path = format!("{data_path}/Secret");
    let secret_el = item_required(data, "Secret", &data_path)?;
    let plain = secret_el.child("PlainValue", &secret_path)?;
    let encrypted = secret_el.child("EncryptedValue", &secret_path)?;
    let secret = match (plain, encrypted) {
        (Some(_), Some(_)) => {
            return Err(PskcError::new(
                secret_path,
                PskcErrorKind::Invalid("both PlainValue and EncryptedValue".into()),
            ))
        }
        (None, None) => {
            return Err(PskcError::new(
                format!("{secret_path}/PlainValue"),
                PskcErrorKind::Missing,
            ))
        }
        (Some(value), None) => RawSecret::Plain(Secret::new(base64_value(
            value,
            &format!("{secret_path}/PlainValue"),
        )?)),
        (None, Some(value)) => {
            let data = cipher_text(value, &format!("{secret_path}/EncryptedValue"))?;
            let mac_path = format!("{secret_path}/ValueMAC");
            let mac_el = secret_el
                .child("ValueMAC", &secret_path)?
                .ok_or_else(|| PskcError::new(&mac_path, PskcErrorKind::Missing))?;
            RawSecret::Encrypted(EncryptedSecret {
                data,
                mac: base64_value(mac_el, &mac_path)?,
            })
        }
    };

    Ok(RawKey {
        index,
        serial: serial.to_owned(),
        kind,
        algorithm,
        digits,
        step_secs,
        secret,
    })
}

/// The code length from `AlgorithmParameters/ResponseFormat` (six digits without one);
/// only decimal codes.
fn response_digits(params: Option<&Element>, params_path: &str) -> Result<Digits, PskcError> {
    match params
        .map(|p| p.child("ResponseFormat", params_path))
        .transpose()?
        .flatten()
    {
        None => Ok(Digits::SIX),
        Some(format) => {
            let format_path = format!("{params_path}/ResponseFormat");
            if let Some(encoding) = format.attr("Encoding") {
                if encoding != "DECIMAL" {
                    return Err(PskcError::new(
                        format!("{format_path}/@Encoding"),
                        PskcErrorKind::Unsupported(format!("encoding {encoding:?} (only DECIMAL)")),
                    ));
                }
            }
            let length = format.attr_required("Length", &format_path)?;
            length
                .parse::<u32>()
                .ok()
                .and_then(Digits::new)
                .ok_or_else(|| {
                    PskcError::new(
                        format!("{format_path}/@Length"),
                        PskcErrorKind::Invalid(format!("{length:?}: must be 6, 7 or 8")),
                    )
                })
        }
    }
}

/// The step from `Data/TimeInterval/PlainValue` or `Policy/TimeInterval`; both given
/// must agree.
fn step_secs(
    key: &Element,
    data: &Element,
    key_path: &str,
) -> Result<Option<NonZeroU32>, PskcError> {
    let data_path = format!("{key_path}/Data/TimeInterval");
    let from_data = match data.child("TimeInterval", &format!("{key_path}/Data"))? {
        None => None,
        Some(el) => {
            let value = el.child("PlainValue", &data_path)?.ok_or_else(|| {
                PskcError::new(format!("{data_path}/PlainValue"), PskcErrorKind::Missing)
            })?;
            Some(parse_step(
                value.text(),
                &format!("{data_path}/PlainValue"),
            )?)
        }
    };
    let policy_path = format!("{key_path}/Policy");
    let policy_step_path = format!("{policy_path}/TimeInterval");
    let from_policy = match key
        .child("Policy", key_path)?
        .map(|p| p.child("TimeInterval", &policy_path))
        .transpose()?
        .flatten()
    {
        None => None,
        Some(el) => match el.child("PlainValue", &policy_step_path)? {
            Some(value) => Some(parse_step(
                value.text(),
                &format!("{policy_step_path}/PlainValue"),
            )?),
            None => Some(parse_step(el.text(), &policy_step_path)?),
        },
    };
    match (from_data, from_policy) {
        (Some(a), Some(b)) if a != b => Err(PskcError::new(
            policy_step_path,
            PskcErrorKind::Invalid(format!("{b} s disagrees with Data/TimeInterval ({a} s)")),
        )),
        (a, b) => Ok(a.or(b)),
    }
}

fn parse_step(text: &str, path: &str) -> Result<NonZeroU32, PskcError> {
    text.parse::<u32>()
        .ok()
        .filter(|&s| s <= MAX_STEP_SECS)
        .and_then(NonZeroU32::new)
        .ok_or_else(|| {
            PskcError::new(
                path,
                PskcErrorKind::Invalid(format!(
                    "{text:?}: step must be 1 to {MAX_STEP_SECS} seconds"
                )),
            )
        })
}

fn suite_algorithm(suite: &str) -> Option<Algorithm> {
    let upper = suite.to_ascii_uppercase();
    let name = upper.strip_prefix("HMAC-").unwrap_or(&upper);
    match name.replace('-', "").as_str() {
        "SHA1" => Some(Algorithm::Sha1),
        "SHA256" => Some(Algorithm::Sha256),
        "SHA512" => Some(Algorithm::Sha512),
        _ => None,
    }
}

/// `sha1` etc. for the xmldsig HMAC URIs.
fn hmac_name(uri: &str) -> Option<&'static str> {
    match uri {
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1" => Some("sha1"),
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256" => Some("sha256"),
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha384" => Some("sha384"),
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512" => Some("sha512"),
        _ => None,
    }
}

/// Base64 text of `el` (whitespace ignored, padding optional).
fn base64_value(el: &Element, path: &str) -> Result<Vec<u8>, PskcError> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = el
        .text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(PskcError::new(
            path,
            PskcErrorKind::Invalid("empty value".into()),
        ));
    }
    ENGINE
        .decode(compact.as_bytes())
        .map_err(|e| PskcError::new(path, PskcErrorKind::Invalid(format!("not base64 ({e})"))))
}

fn item_required<'e>(el: &'e Element, name: &str, path: &str) -> Result<&'e Element, PskcError> {
    el.child(name, path)?
        .ok_or_else(|| PskcError::new(format!("{path}/{name}"), PskcErrorKind::Missing))
}

// ---------------------------------------------------------------------------------------
// XML: a bounded tree per item over quick-xml's pull parser.

/// An element: local name, attributes by local name, text, children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    /// The one child called `name`, if any; two or more is an error.
    fn child(&self, name: &str, path: &str) -> Result<Option<&Element>, PskcError> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(PskcError::new(
                format!("{path}/{name}"),
                PskcErrorKind::Duplicate,
            ));
        }
        Ok(first)
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    fn attr_required(&self, name: &str, path: &str) -> Result<&str, PskcError> {
        self.attr(name)
            .ok_or_else(|| PskcError::new(format!("{path}/@{name}"), PskcErrorKind::Missing))
    }

    fn text(&self) -> &str {
        self.text.trim()
    }
}

struct Xml<'a> {
    reader: Reader<&'a [u8]>,
}

impl<'a> Xml<'a> {
    fn new(text: &'a str) -> Xml<'a> {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.allow_unmatched_ends = false;
        config.check_comments = true;
        Xml { reader }
    }

    /// The next event; errors carry `path` and the byte position.
    fn next(&mut self, path: &str) -> Result<Event<'a>, PskcError> {
        match self.reader.read_event() {
            Ok(Event::DocType(_)) => Err(PskcError::new(path, PskcErrorKind::DocType)),
            Ok(event) => Ok(event),
            Err(e) => Err(PskcError::new(
                path,
                PskcErrorKind::Xml(format!("at byte {}: {e}", self.reader.error_position())),
            )),
        }
    }

    /// Reads the rest of the item whose start tag gave `top`, up to its end tag.
    fn read_item(&mut self, top: Element, path: &str) -> Result<Element, PskcError> {
        let mut stack = vec![top];
        let mut elements = 1usize;
        loop {
            let event = self.next(path)?;
            let opened = match &event {
                Event::Start(e) | Event::Empty(e) => {
                    elements += 1;
                    if elements > MAX_ITEM_ELEMENTS || stack.len() >= MAX_DEPTH {
                        return Err(PskcError::new(path, PskcErrorKind::TooComplex));
                    }
                    Some(start_element(e, path)?)
                }
                _ => None,
            };
            match (event, opened) {
                (Event::Start(_), Some(el)) => stack.push(el),
                (Event::Empty(_), Some(el)) => {
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(el);
                    }
                }
                (Event::End(_), _) => {
                    let done = stack.pop().unwrap_or_default();
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                (Event::Text(t), _) => {
                    let text = t
                        .xml10_content()
                        .map_err(|e| PskcError::new(path, PskcErrorKind::Xml(e.to_string())))?;
                    push_text(&mut stack, &text);
                }
                (Event::CData(c), _) => {
                    let text = c
                        .decode()
                        .map_err(|e| PskcError::new(path, PskcErrorKind::Xml(e.to_string())))?;
                    push_text(&mut stack, &text);
                }
                (Event::GeneralRef(r), _) => {
                    let text = resolve_reference(&r).ok_or_else(|| {
                        PskcError::new(
                            path,
                            PskcErrorKind::Xml(format!(
                                "unknown entity or character reference &{};",
                                String::from_utf8_lossy(&r)
                            )),
                        )
                    })?;
                    push_text(&mut stack, &text);
                }
                (Event::Eof, _) => {
                    return Err(PskcError::new(
                        path,
                        PskcErrorKind::Xml("unexpected end of file".into()),
                    ))
                }
                (Event::DocType(_), _) => return Err(PskcError::new(path, PskcErrorKind::DocType)),
                _ => {}
            }
        }
    }
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        top.text.push_str(text);
    }
}

fn resolve_reference(r: &BytesRef<'_>) -> Option<String> {
    if r.is_char_ref() {
        return r.resolve_char_ref().ok().flatten().map(String::from);
    }
    let name = r.decode().ok()?;
    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
}

fn start_element(e: &BytesStart<'_>, path: &str) -> Result<Element, PskcError> {
    let xml_err = |what: String| PskcError::new(path, PskcErrorKind::Xml(what));
    let name = std::str::from_utf8(e.local_name().as_ref())
        .map_err(|_| xml_err("element name not UTF-8".into()))?
        .to_owned();
    let mut attrs = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| xml_err(format!("<{name}>: {err}")))?;
        let raw_key = attr.key.as_ref();
        if raw_key == b"xmlns" || raw_key.starts_with(b"xmlns:") {
            continue;
        }
        let key = std::str::from_utf8(attr.key.local_name().as_ref())
            .map_err(|_| xml_err(format!("<{name}>: attribute name not UTF-8")))?
            .to_owned();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| xml_err(format!("<{name} {key}>: {err}")))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

fn is_blank(t: &quick_xml::events::BytesText<'_>) -> bool {
    t.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockEncryptMut;

    const PLAIN: &[u8] = include_bytes!("../../tests/data/pskc/plain-totp.pskcxml");
    const PSK: &[u8] = include_bytes!("../../tests/data/pskc/psk-aes128.pskcxml");
    const PBKDF2: &[u8] = include_bytes!("../../tests/data/pskc/pbkdf2-aes256.pskcxml");
    const BAD_MAC: &[u8] = include_bytes!("../../tests/data/pskc/bad-mac.pskcxml");
    const EXCESSIVE: &[u8] = include_bytes!("../../tests/data/pskc/excessive-iterations.pskcxml");
    const MALFORMED: &[u8] = include_bytes!("../../tests/data/pskc/malformed.pskcxml");
    const MISSING_SERIAL: &[u8] = include_bytes!("../../tests/data/pskc/missing-serial.pskcxml");

    const PSK_HEX: &str = "f6312cec350b1dbe00ac71e111cd0b75";
    const PASSWORD: &str = "Kefu-seeds-2026";

    fn hex(text: &str) -> Vec<u8> {
        crate::decode_hex(text).unwrap()
    }

    fn with_psk(key_hex: &str) -> PskcOptions {
        PskcOptions {
            pre_shared_key: Some(Secret::new(hex(key_hex))),
            ..PskcOptions::default()
        }
    }

    fn with_password(password: &str) -> PskcOptions {
        PskcOptions {
            password: Some(Secret::new(password.as_bytes().to_vec())),
            ..PskcOptions::default()
        }
    }

    type Row = (String, String, Algorithm, u32, u32);

    /// (serial, secret hex, algorithm, digits, step) of each imported seed.
    fn summary(seeds: &[ImportedSeed]) -> Vec<Row> {
        seeds
            .iter()
            .map(|s| {
                let secret: String = s
                    .secret
                    .expose()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                (
                    s.serial.clone(),
                    secret,
                    s.algorithm,
                    s.digits.get(),
                    s.step_secs.get(),
                )
            })
            .collect()
    }

    fn row(serial: &str, secret: &str, algorithm: Algorithm, digits: u32, step: u32) -> Row {
        (serial.into(), secret.into(), algorithm, digits, step)
    }

    fn sha1_60(serial: &str, secret: &str) -> Row {
        row(serial, secret, Algorithm::Sha1, 6, 60)
    }

    #[test]
    fn sample_plaintext_file() {
        let seeds = import(PLAIN, &PskcOptions::default()).unwrap();
        assert_eq!(
            summary(&seeds),
            [
                sha1_60("KF-200001", "97fba2fb75013ef502d72571f3b2c3a971a2d859"),
                sha1_60("KF-200002", "c516e7df3040ccabee725c5024b96b661c2307b5"),
                row(
                    "KF-200003",
                    "17b7d6ce98fad9fc10761b8718a62855733ff01bfc5626c211488dceef9fee93",
                    Algorithm::Sha256,
                    8,
                    30
                ),
                sha1_60("KF-200004", "1ddbb34a0b65ad489f0716d1b9f60f9e8c53978a"),
            ]
        );
        // The default step is configurable.
        let options = PskcOptions {
            default_step_secs: NonZeroU32::new(30).unwrap(),
            ..PskcOptions::default()
        };
        let seeds = import(PLAIN, &options).unwrap();
        assert_eq!(seeds.last().map(|s| s.step_secs.get()), Some(30));
    }

    #[test]
    fn sample_pre_shared_key_file() {
        let seeds = import(PSK, &with_psk(PSK_HEX)).unwrap();
        assert_eq!(
            summary(&seeds),
            [
                sha1_60("KF-300001", "e36bbc6d72466c9f284cb46dd6acbb07f8804855"),
                sha1_60("KF-300002", "3f1cdcb698cb2264a45948d827f68483463c2bae"),
                sha1_60("KF-300003", "57bc21f5b930304e9d5cafd42d3bb878f20d1954"),
            ]
        );
        // The same through the convenience entry point.
        let again = import_file(PSK, Some(PSK_HEX), None).unwrap();
        assert_eq!(summary(&again), summary(&seeds));
    }

    #[test]
    fn sample_pbkdf2_file() {
        let seeds = import(PBKDF2, &with_password(PASSWORD)).unwrap();
        assert_eq!(
            summary(&seeds),
            [
                sha1_60("KF-400001", "0c1fa29dcec8d2596cc4e5653217dc0b42994644"),
                sha1_60("KF-400002", "2e142e4757998d5dad96324754444d8b3acc6cd9"),
            ]
        );
        assert_eq!(import_file(PBKDF2, None, Some(PASSWORD)).unwrap().len(), 2);
    }

    #[test]
    fn malformed_samples_name_the_element_and_import_nothing() {
        let psk = with_psk(PSK_HEX);
        let none = PskcOptions::default();
        let cases: &[(&str, &[u8], &PskcOptions, &str, &str)] = &[
            (
                "bad MAC",
                BAD_MAC,
                &psk,
                "KeyPackage[2]/Key/Data/Secret/ValueMAC",
                "MAC mismatch (the file was altered, or the key or password is wrong)",
            ),
            (
                "excessive iterations",
                EXCESSIVE,
                &none,
                "EncryptionKey/DerivedKey/KeyDerivationMethod/PBKDF2-params/IterationCount",
                "the file asks for 5000000 PBKDF2 iterations, more than the limit of 1000000",
            ),
            (
                "malformed XML",
                MALFORMED,
                &none,
                "KeyPackage[2]",
                "malformed XML",
            ),
            (
                "missing serial",
                MISSING_SERIAL,
                &none,
                "KeyPackage[2]/DeviceInfo/SerialNo",
                "missing",
            ),
        ];
        for (name, file, options, path, message) in cases {
            // `import` gives all the seeds or an error, never a part: nothing is imported.
            let err = import(file, options).unwrap_err();
            assert_eq!(err.path, *path, "{name}: {err}");
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("{path}: {message}")),
                "{name}: {text}"
            );
        }
        // The iteration cap holds with the right password too: no derivation is tried.
        let err = import(EXCESSIVE, &with_password(PASSWORD)).unwrap_err();
        assert!(matches!(
            err.kind,
            PskcErrorKind::IterationsTooHigh {
                asked: 5_000_000,
                max: 1_000_000
            }
        ));
        // Under a higher cap the same file gets as far as the password check.
        let generous = PskcOptions {
            max_pbkdf2_iterations: 5_000_000,
            ..PskcOptions::default()
        };
        let err = import(EXCESSIVE, &generous).unwrap_err();
        assert!(matches!(err.kind, PskcErrorKind::NoKeyGiven(_)), "{err}");
    }

    #[test]
    fn missing_or_wrong_key_material() {
        let err = import(PSK, &PskcOptions::default()).unwrap_err();
        assert_eq!(err.path, "EncryptionKey");
        assert!(matches!(err.kind, PskcErrorKind::NoKeyGiven(_)));
        let err = import(PBKDF2, &PskcOptions::default()).unwrap_err();
        assert_eq!(err.path, "EncryptionKey/DerivedKey");
        assert!(matches!(err.kind, PskcErrorKind::NoKeyGiven(_)));

        // A wrong key or password fails at the MAC key (bad padding) or at the first MAC.
        for err in [
            import(PSK, &with_psk("00112233445566778899aabbccddeeff")).unwrap_err(),
            import(PBKDF2, &with_password("qwerty")).unwrap_err(),
        ] {
            let at_mac_key = err.path == "MACMethod/MACKey/CipherData/CipherValue"
                && err.kind == PskcErrorKind::DecryptionFailed;
            let at_first_mac = err.path == "KeyPackage[1]/Key/Data/Secret/ValueMAC"
                && err.kind == PskcErrorKind::MacMismatch;
            assert!(at_mac_key || at_first_mac, "{err}");
        }
        // A key of the wrong size for the cipher, or no usable key.
        let err = import(PSK, &with_psk(&"ab".repeat(32))).unwrap_err();
        assert_eq!(err.path, "MACMethod/MACKey/CipherData/CipherValue");
        assert!(matches!(err.kind, PskcErrorKind::Unsupported(_)), "{err}");
        let err = import(PSK, &with_psk("abcd")).unwrap_err();
        assert_eq!(err.path, "EncryptionKey");
        let err = import_file(PSK, Some("not hex"), None).unwrap_err();
        assert_eq!(err.path, "(pre-shared key given)");
    }

    // --- RFC 6030's own examples (HOTP keys, so through `import_keys`) -----------------

    const RFC_SECRET: &str = "3132333435363738393031323334353637383930";

    #[test]
    fn rfc6030_figure_2_plaintext() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" Id="exampleID1" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>Manufacturer</Manufacturer><SerialNo>987654321</SerialNo></DeviceInfo>
    <CryptoModuleInfo><Id>CM_ID_001</Id></CryptoModuleInfo>
    <Key Id="12345678" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <Issuer>Issuer</Issuer>
      <AlgorithmParameters><ResponseFormat Length="8" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>
        <Counter><PlainValue>0</PlainValue></Counter>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>"#;
        let keys = import_keys(xml.as_bytes(), &PskcOptions::default()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kind, Kind::Hotp);
        assert_eq!(keys[0].seed.secret.expose(), &hex(RFC_SECRET)[..]);
        assert_eq!(keys[0].seed.digits.get(), 8);
        // `import` refuses HOTP keys, naming the attribute.
        let err = import(xml.as_bytes(), &PskcOptions::default()).unwrap_err();
        assert_eq!(err.path, "KeyPackage[1]/Key/@Algorithm");
        assert!(matches!(err.kind, PskcErrorKind::Unsupported(_)));
    }

    #[test]
    fn rfc6030_figure_6_pre_shared_key() {
        let xml = r#"<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
  <EncryptionKey><ds:KeyName>Pre-shared-key</ds:KeyName></EncryptionKey>
  <MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1">
    <MACKey>
      <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
      <xenc:CipherData><xenc:CipherValue>
ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX
      </xenc:CipherValue></xenc:CipherData>
    </MACKey>
  </MACMethod>
  <KeyPackage>
    <DeviceInfo><Manufacturer>Manufacturer</Manufacturer><SerialNo>987654321</SerialNo></DeviceInfo>
    <Key Id="12345678" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="8" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret>
          <EncryptedValue>
            <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
            <xenc:CipherData><xenc:CipherValue>
AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv
            </xenc:CipherValue></xenc:CipherData>
          </EncryptedValue>
          <ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=
          </ValueMAC>
        </Secret>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>"#;
        let options = with_psk("12345678901234567890123456789012");
        let keys = import_keys(xml.as_bytes(), &options).unwrap();
        assert_eq!(keys[0].seed.serial, "987654321");
        assert_eq!(keys[0].seed.secret.expose(), &hex(RFC_SECRET)[..]);
    }

    #[test]
    fn rfc6030_figure_7_pbkdf2() {
        let xml = r##"<pskc:KeyContainer xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc"
  xmlns:xenc11="http://www.w3.org/2009/xmlenc11#"
  xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#"
  xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Version="1.0">
  <pskc:EncryptionKey>
    <xenc11:DerivedKey>
      <xenc11:KeyDerivationMethod Algorithm="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2">
        <pkcs5:PBKDF2-params>
          <Salt><Specified>Ej7/PEpyEpw=</Specified></Salt>
          <IterationCount>1000</IterationCount>
          <KeyLength>16</KeyLength>
          <PRF/>
        </pkcs5:PBKDF2-params>
      </xenc11:KeyDerivationMethod>
      <xenc:ReferenceList><xenc:DataReference URI="#ED"/></xenc:ReferenceList>
      <xenc11:MasterKeyName>My Password 1</xenc11:MasterKeyName>
    </xenc11:DerivedKey>
  </pskc:EncryptionKey>
  <pskc:MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1">
    <pskc:MACKey>
      <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
      <xenc:CipherData><xenc:CipherValue>2GTTnLwM3I4e5IO5FkufoOEiOhNj91fhKRQBtBJYluUDsPOLTfUvoU2dStyOwYZx</xenc:CipherValue></xenc:CipherData>
    </pskc:MACKey>
  </pskc:MACMethod>
  <pskc:KeyPackage>
    <pskc:DeviceInfo><pskc:Manufacturer>TokenVendorAcme</pskc:Manufacturer><pskc:SerialNo>987654321</pskc:SerialNo></pskc:DeviceInfo>
    <pskc:Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp" Id="123456">
      <pskc:AlgorithmParameters><pskc:ResponseFormat Length="8" Encoding="DECIMAL"/></pskc:AlgorithmParameters>
      <pskc:Data>
        <pskc:Secret>
          <pskc:EncryptedValue Id="ED">
            <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
            <xenc:CipherData><xenc:CipherValue>oTvo+S22nsmS2Z/RtcoF8Hfh+jzMe0RkiafpoDpnoZTjPYZu6V+A4aEn032yCr4f</xenc:CipherValue></xenc:CipherData>
          </pskc:EncryptedValue>
          <pskc:ValueMAC>LP6xMvjtypbfT9PdkJhBZ+D6O4w=</pskc:ValueMAC>
        </pskc:Secret>
      </pskc:Data>
    </pskc:Key>
  </pskc:KeyPackage>
</pskc:KeyContainer>"##;
        let keys = import_keys(xml.as_bytes(), &with_password("qwerty")).unwrap();
        assert_eq!(keys[0].seed.secret.expose(), &hex(RFC_SECRET)[..]);
        // The RFC's derived key, as a check of the PBKDF2 parameters read.
        let mut derived = [0u8; 16];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA1,
            NonZeroU32::new(1000).unwrap(),
            &hex("123eff3c4a72129c"),
            b"qwerty",
            &mut derived,
        );
        assert_eq!(&derived[..], &hex("651e63cd57008476af1ff6422cd02e41")[..]);
    }

    // --- Hand-built documents ------------------------------------------------------------

    const SECRET_B64: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="; // "12345678901234567890"
    const TOTP_URI: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";

    fn package(serial: &str, key_body: &str) -> String {
        format!(
            "<KeyPackage><DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo>{key_body}</KeyPackage>"
        )
    }

    fn plain_key(extra_params: &str, extra_data: &str) -> String {
        format!(
            r#"<Key Algorithm="{TOTP_URI}">{extra_params}<Data><Secret><PlainValue>{SECRET_B64}</PlainValue></Secret>{extra_data}</Data></Key>"#
        )
    }

    fn container(inner: &str) -> String {
        format!(
            r#"<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">{inner}</KeyContainer>"#
        )
    }

    fn one(key_body: &str) -> String {
        container(&package("TK1", key_body))
    }

    #[test]
    fn hand_built_documents_that_import() {
        let prefixed = r#"<p:KeyContainer xmlns:p="urn:ietf:params:xml:ns:keyprov:pskc"><p:KeyPackage><p:DeviceInfo><p:SerialNo>TK1</p:SerialNo></p:DeviceInfo><p:Key Algorithm="http://www.ietf.org/keyprov/pskc#totp"><p:Data><p:Secret><p:PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</p:PlainValue></p:Secret></p:Data></p:Key></p:KeyPackage></p:KeyContainer>"#;
        let escaped_key = format!(
            r#"<Key Algorithm="{TOTP_URI}"><AlgorithmParameters><ResponseFormat Length="7"/></AlgorithmParameters><Data><Secret><PlainValue><![CDATA[MTIzNDU2Nzg5]]>
  MDEy&#x4D;zQ1Njc4OTA</PlainValue></Secret><TimeInterval><PlainValue> 45 </PlainValue></TimeInterval></Data></Key>"#
        );
        let escaped = format!(
            "\u{feff}<?xml version=\"1.0\"?><!-- seeds --><?vendor x?>{}\n<!-- end -->\n",
            container(&package("&#x54;K&amp;1", &escaped_key))
        );
        let policy = format!(
            r#"<Key Algorithm="{TOTP_URI}"><Data><Secret><PlainValue>{SECRET_B64}</PlainValue></Secret><TimeInterval><PlainValue>30</PlainValue></TimeInterval></Data><Policy><TimeInterval><PlainValue>30</PlainValue></TimeInterval></Policy></Key>"#
        );
        let cases: Vec<(&str, String, &str, u32, u32)> = vec![
            ("minimal", one(&plain_key("", "")), "TK1", 6, 60),
            ("prefix and vendor URI", prefixed.into(), "TK1", 6, 60),
            (
                "references, CDATA, comments, BOM, wrapped base64",
                escaped,
                "TK&1",
                7,
                45,
            ),
            ("policy step agreeing with data", one(&policy), "TK1", 6, 30),
        ];
        for (name, xml, serial, digits, step) in cases {
            let seeds = import(xml.as_bytes(), &PskcOptions::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(seeds.len(), 1, "{name}");
            assert_eq!(seeds[0].serial, serial, "{name}");
            assert_eq!(seeds[0].secret.expose(), b"12345678901234567890", "{name}");
            assert_eq!(seeds[0].digits.get(), digits, "{name}");
            assert_eq!(seeds[0].step_secs.get(), step, "{name}");
        }
    }

    #[test]
    fn hand_built_documents_that_fail() {
        let key = plain_key("", "");
        let deep = format!("{}{}", "<X>".repeat(40), "</X>".repeat(40));
        let params = |p: &str| {
            one(&plain_key(
                &format!("<AlgorithmParameters>{p}</AlgorithmParameters>"),
                "",
            ))
        };
        let data = |d: &str| one(&plain_key("", d));
        let algorithm = |uri: &str| one(&key.replace(TOTP_URI, uri));
        let secret = |b64: &str| one(&key.replace(SECRET_B64, b64));
        let disagreeing = format!(
            r#"<Key Algorithm="{TOTP_URI}"><Data><Secret><PlainValue>{SECRET_B64}</PlainValue></Secret><TimeInterval><PlainValue>30</PlainValue></TimeInterval></Data><Policy><TimeInterval>60</TimeInterval></Policy></Key>"#
        );
        let cut = container(&package("TK1", &key));
        let k1 = "KeyPackage[1]";
        let k1key = "KeyPackage[1]/Key";
        let fmt_path = "KeyPackage[1]/Key/AlgorithmParameters/ResponseFormat";
        let cases: Vec<(&str, String, String, &str)> = vec![
            (
                "empty",
                String::new(),
                ROOT.into(),
                "malformed XML: no root element",
            ),
            (
                "not XML",
                "seeds!".into(),
                ROOT.into(),
                "malformed XML: content before",
            ),
            (
                "wrong root",
                "<Seeds/>".into(),
                ROOT.into(),
                "root element is <Seeds>",
            ),
            (
                "empty container",
                container(""),
                ROOT.into(),
                "no KeyPackage in file",
            ),
            (
                "self-closing container",
                "<KeyContainer/>".into(),
                ROOT.into(),
                "no KeyPackage",
            ),
            (
                "document type",
                format!(
                    "<!DOCTYPE KeyContainer [<!ENTITY a \"aaaa\">]>{}",
                    one(&key)
                ),
                ROOT.into(),
                "document type declarations are not accepted",
            ),
            (
                "unknown entity",
                container(&package("&a;", &key)),
                k1.into(),
                "malformed XML: unknown entity",
            ),
            (
                "text after root",
                format!("{}junk", one(&key)),
                ROOT.into(),
                "malformed XML: content after",
            ),
            (
                "second root",
                format!("{0}{0}", one(&key)),
                ROOT.into(),
                "malformed XML: content after",
            ),
            (
                "truncated",
                one(&key).replace("</KeyContainer>", ""),
                ROOT.into(),
                "malformed XML",
            ),
            (
                "cut inside a package",
                cut.get(..120).unwrap().into(),
                k1.into(),
                "malformed XML",
            ),
            (
                "mismatched tags",
                container("<KeyPackage><DeviceInfo></KeyPackage>"),
                k1.into(),
                "malformed XML",
            ),
            (
                "duplicate attribute",
                one(&key.replace("<Key ", "<Key Id=\"1\" Id=\"2\" ")),
                k1.into(),
                "malformed XML",
            ),
            (
                "too deep",
                container(&package("TK1", &format!("{deep}{key}"))),
                k1.into(),
                "too deeply nested",
            ),
            (
                "no key",
                container(&package("TK1", "")),
                k1key.into(),
                "missing",
            ),
            (
                "two keys",
                container(&package("TK1", &format!("{key}{key}"))),
                k1key.into(),
                "appears more than once",
            ),
            (
                "no serial",
                container(&format!("<KeyPackage>{key}</KeyPackage>")),
                "KeyPackage[1]/DeviceInfo/SerialNo".into(),
                "missing",
            ),
            (
                "empty serial",
                container(&package(" ", &key)),
                "KeyPackage[1]/DeviceInfo/SerialNo".into(),
                "invalid: \"\": empty serial",
            ),
            (
                "serial with space",
                container(&package("TK 1", &key)),
                "KeyPackage[1]/DeviceInfo/SerialNo".into(),
                "invalid",
            ),
            (
                "two serials",
                container(&package("TK1</SerialNo><SerialNo>TK2", &key)),
                "KeyPackage[1]/DeviceInfo/SerialNo".into(),
                "appears more than once",
            ),
            (
                "duplicate serial",
                container(&format!("{}{}", package("TK1", &key), package("TK1", &key))),
                "KeyPackage[2]/DeviceInfo/SerialNo".into(),
                "serial \"TK1\" already in KeyPackage[1]",
            ),
            (
                "no algorithm",
                one(&key.replace(&format!(" Algorithm=\"{TOTP_URI}\""), "")),
                "KeyPackage[1]/Key/@Algorithm".into(),
                "missing",
            ),
            (
                "OCRA",
                algorithm("urn:ietf:params:xml:ns:keyprov:pskc:ocra"),
                "KeyPackage[1]/Key/@Algorithm".into(),
                "unsupported",
            ),
            (
                "HOTP",
                algorithm("urn:ietf:params:xml:ns:keyprov:pskc:hotp"),
                "KeyPackage[1]/Key/@Algorithm".into(),
                "unsupported: HOTP",
            ),
            (
                "4 digits",
                params(r#"<ResponseFormat Length="4"/>"#),
                format!("{fmt_path}/@Length"),
                "invalid",
            ),
            (
                "no length",
                params(r#"<ResponseFormat Encoding="DECIMAL"/>"#),
                format!("{fmt_path}/@Length"),
                "missing",
            ),
            (
                "hex codes",
                params(r#"<ResponseFormat Length="6" Encoding="HEXADECIMAL"/>"#),
                format!("{fmt_path}/@Encoding"),
                "unsupported",
            ),
            (
                "MD5 suite",
                params("<Suite>HMAC-MD5</Suite>"),
                "KeyPackage[1]/Key/AlgorithmParameters/Suite".into(),
                "unsupported",
            ),
            (
                "no data",
                one(&format!(r#"<Key Algorithm="{TOTP_URI}"/>"#)),
                "KeyPackage[1]/Key/Data".into(),
                "missing",
            ),
            (
                "no secret value",
                one(&format!(
                    r#"<Key Algorithm="{TOTP_URI}"><Data><Secret/></Data></Key>"#
                )),
                "KeyPackage[1]/Key/Data/Secret/PlainValue".into(),
                "missing",
            ),
            (
                "bad base64",
                secret("MTIz*NDU2"),
                "KeyPackage[1]/Key/Data/Secret/PlainValue".into(),
                "invalid: not base64",
            ),
            (
                "empty secret",
                secret(" "),
                "KeyPackage[1]/Key/Data/Secret/PlainValue".into(),
                "invalid: empty value",
            ),
            (
                "short secret",
                secret("MTIzNDU2Nzg="),
                "KeyPackage[1]/Key/Data/Secret".into(),
                "invalid: secret shorter",
            ),
            (
                "both values",
                one(&key.replace("</PlainValue>", "</PlainValue><EncryptedValue/>")),
                "KeyPackage[1]/Key/Data/Secret".into(),
                "invalid: both",
            ),
            (
                "zero step",
                data("<TimeInterval><PlainValue>0</PlainValue></TimeInterval>"),
                "KeyPackage[1]/Key/Data/TimeInterval/PlainValue".into(),
                "invalid",
            ),
            (
                "step not a number",
                data("<TimeInterval><PlainValue>-60</PlainValue></TimeInterval>"),
                "KeyPackage[1]/Key/Data/TimeInterval/PlainValue".into(),
                "invalid",
            ),
            (
                "step without PlainValue",
                data("<TimeInterval>60</TimeInterval>"),
                "KeyPackage[1]/Key/Data/TimeInterval/PlainValue".into(),
                "missing",
            ),
            (
                "steps disagree",
                one(&disagreeing),
                "KeyPackage[1]/Key/Policy/TimeInterval".into(),
                "invalid: 60 s disagrees",
            ),
            (
                "two encryption keys",
                container(&format!(
                    "<EncryptionKey/><EncryptionKey/>{}",
                    package("TK1", &key)
                )),
                "EncryptionKey".into(),
                "appears more than once",
            ),
            (
                "certificate encryption key",
                container(&format!(
                    "<EncryptionKey><X509Data/></EncryptionKey>{}",
                    package("TK1", &key)
                )),
                "EncryptionKey/X509Data".into(),
                "unsupported",
            ),
        ];
        for (name, xml, path, message) in cases {
            let err = import(xml.as_bytes(), &PskcOptions::default()).unwrap_err();
            assert_eq!(err.path, path, "{name}: {err}");
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("{path}: {message}")),
                "{name}: {text}"
            );
        }
    }

    #[test]
    fn limits_are_checked_first() {
        let key = plain_key("", "");
        let three = container(&format!(
            "{}{}{}",
            package("A", &key),
            package("B", &key),
            package("C", &key)
        ));
        let limited = |max_file_bytes, max_keys| PskcOptions {
            limits: ImportLimits {
                max_file_bytes,
                max_keys,
            },
            ..PskcOptions::default()
        };
        let err = import(three.as_bytes(), &limited(100, 100)).unwrap_err();
        assert_eq!(err.path, ROOT);
        assert!(matches!(err.kind, PskcErrorKind::TooLarge { max: 100, .. }));
        let err = import(three.as_bytes(), &limited(1 << 20, 2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "KeyPackage[3]: more than 2 keys in one file"
        );
        let err = import(
            b"<KeyContainer>\xff</KeyContainer>",
            &PskcOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind, PskcErrorKind::NotUtf8(14));
        // Too many elements in one package.
        let wide = container(&package(
            "TK1",
            &format!("{}{key}", "<X/>".repeat(MAX_ITEM_ELEMENTS)),
        ));
        let err = import(wide.as_bytes(), &PskcOptions::default()).unwrap_err();
        assert_eq!(
            (err.path.as_str(), err.kind),
            ("KeyPackage[1]", PskcErrorKind::TooComplex)
        );
    }

    // --- Encrypted documents built here (ring HMAC + `cbc` encryption) -------------------

    const FILE_KEY: [u8; 16] = [0x42; 16];
    const MAC_KEY: [u8; 20] = [0x17; 20];
    const AES128: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
    const SHA1_MAC: &str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";

    /// IV ‖ AES-128-CBC(plain ‖ XML Encryption padding): filler bytes, then the
    /// padding length, or `last` instead of it to make deliberately bad padding.
    fn encrypt(key: &[u8], plain: &[u8], last: Option<u8>) -> Vec<u8> {
        let iv = [0x24u8; 16];
        let pad = 16 - plain.len() % 16;
        let mut buf = plain.to_vec();
        buf.extend(std::iter::repeat_n(0xa5, pad - 1));
        buf.push(last.unwrap_or(u8::try_from(pad).unwrap()));
        let len = buf.len();
        let enc = cbc::Encryptor::<aes::Aes128>::new_from_slices(key, &iv).unwrap();
        let out = enc
            .encrypt_padded_mut::<NoPadding>(&mut buf, len)
            .unwrap()
            .to_vec();
        [iv.to_vec(), out].concat()
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn cipher_xml(value: &[u8], uri: &str) -> String {
        format!(
            r#"<EncryptionMethod Algorithm="{uri}"/><CipherData><CipherValue>{}</CipherValue></CipherData>"#,
            b64(value)
        )
    }

    fn mac_method() -> String {
        format!(
            r#"<MACMethod Algorithm="{SHA1_MAC}"><MACKey>{}</MACKey></MACMethod>"#,
            cipher_xml(&encrypt(&FILE_KEY, &MAC_KEY, None), AES128)
        )
    }

    /// A key whose secret is `value` (already IV ‖ ciphertext), with a correct MAC.
    fn encrypted_key(value: &[u8], uri: &str) -> String {
        let mac_key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &MAC_KEY);
        let mac = hmac::sign(&mac_key, value);
        format!(
            r#"<Key Algorithm="{TOTP_URI}"><Data><Secret><EncryptedValue>{}</EncryptedValue><ValueMAC>{}</ValueMAC></Secret></Data></Key>"#,
            cipher_xml(value, uri),
            b64(mac.as_ref())
        )
    }

    fn encrypted_doc(head: &str, keys: &[String]) -> String {
        let packages: String = keys
            .iter()
            .enumerate()
            .map(|(i, k)| package(&format!("TK{}", i + 1), k))
            .collect();
        container(&format!(
            "<EncryptionKey><KeyName>k</KeyName></EncryptionKey>{head}{packages}"
        ))
    }

    fn file_key_options() -> PskcOptions {
        PskcOptions {
            pre_shared_key: Some(Secret::new(FILE_KEY.to_vec())),
            ..PskcOptions::default()
        }
    }

    #[test]
    fn encrypted_values_built_here() {
        let secret = b"12345678901234567890";
        // Padding of 1, 12 and 16 bytes with arbitrary filler: all accepted.
        let secrets: [&[u8]; 3] = [
            b"1234567890123456789012345678901",
            secret,
            b"12345678901234567890123456789012",
        ];
        let keys: Vec<String> = secrets
            .iter()
            .map(|s| encrypted_key(&encrypt(&FILE_KEY, s, None), AES128))
            .collect();
        let xml = encrypted_doc(&mac_method(), &keys);
        let seeds = import(xml.as_bytes(), &file_key_options()).unwrap();
        let got: Vec<&[u8]> = seeds.iter().map(|s| s.secret.expose()).collect();
        assert_eq!(got, secrets);

        let good = encrypted_key(&encrypt(&FILE_KEY, secret, None), AES128);
        let with_mac = |keys: &[String]| encrypted_doc(&mac_method(), keys);
        let value_path = |n: usize| {
            format!("KeyPackage[{n}]/Key/Data/Secret/EncryptedValue/CipherData/CipherValue")
        };
        let kw = "http://www.w3.org/2001/04/xmlenc#kw-aes128";
        let aes256 = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
        let other_value = encrypted_key(&encrypt(&FILE_KEY, b"09876543210987654321", None), AES128);
        let swapped_mac = format!(
            "{}<ValueMAC>{}",
            other_value.split("<ValueMAC>").next().unwrap(),
            good.split("<ValueMAC>").nth(1).unwrap()
        );
        let md5_mac =
            mac_method().replace(SHA1_MAC, "http://www.w3.org/2001/04/xmldsig-more#hmac-md5");
        let plain_mac_key = format!(
            r#"<MACMethod Algorithm="{SHA1_MAC}"><MACKey><PlainValue>AAAA</PlainValue></MACKey></MACMethod>"#
        );
        let good1 = std::slice::from_ref(&good);
        let cases: Vec<(&str, String, String, &str)> = vec![
            (
                "bad padding under a good MAC",
                with_mac(&[
                    good.clone(),
                    encrypted_key(&encrypt(&FILE_KEY, secret, Some(0)), AES128),
                ]),
                value_path(2),
                "cannot decrypt",
            ),
            (
                "padding longer than a block",
                with_mac(&[encrypted_key(&encrypt(&FILE_KEY, secret, Some(17)), AES128)]),
                value_path(1),
                "cannot decrypt",
            ),
            (
                "ragged cipher value",
                with_mac(&[encrypted_key(&[7u8; 40], AES128)]),
                value_path(1),
                "invalid: CipherValue is 40 bytes",
            ),
            (
                "IV only",
                with_mac(&[encrypted_key(&[7u8; 16], AES128)]),
                value_path(1),
                "invalid",
            ),
            (
                "key wrap",
                with_mac(&[encrypted_key(&encrypt(&FILE_KEY, secret, None), kw)]),
                "KeyPackage[1]/Key/Data/Secret/EncryptedValue/EncryptionMethod/@Algorithm".into(),
                "unsupported",
            ),
            (
                "cipher needs another key size",
                with_mac(&[encrypted_key(&encrypt(&FILE_KEY, secret, None), aes256)]),
                value_path(1),
                "unsupported: aes256-cbc needs a 32-byte key",
            ),
            (
                "no MAC method",
                encrypted_doc("", good1),
                "MACMethod".into(),
                "missing",
            ),
            (
                "no value MAC",
                with_mac(&[good.replace("ValueMAC>", "Other>")]),
                "KeyPackage[1]/Key/Data/Secret/ValueMAC".into(),
                "missing",
            ),
            (
                "MAC of another value",
                with_mac(&[good.clone(), swapped_mac]),
                "KeyPackage[2]/Key/Data/Secret/ValueMAC".into(),
                "MAC mismatch",
            ),
            (
                "MD5 MAC",
                encrypted_doc(&md5_mac, good1),
                "MACMethod/@Algorithm".into(),
                "unsupported",
            ),
            (
                "plain MAC key",
                encrypted_doc(&plain_mac_key, good1),
                "MACMethod/MACKey/PlainValue".into(),
                "unsupported",
            ),
            (
                "two MAC methods",
                encrypted_doc(&format!("{0}{0}", mac_method()), good1),
                "MACMethod".into(),
                "appears more than once",
            ),
        ];
        for (name, xml, path, message) in cases {
            let err = import(xml.as_bytes(), &file_key_options()).unwrap_err();
            assert_eq!(err.path, path, "{name}: {err}");
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("{path}: {message}")),
                "{name}: {text}"
            );
        }
    }

    #[test]
    fn pbkdf2_parameters() {
        let params = |inner: &str| {
            format!(
                r#"<EncryptionKey><DerivedKey><KeyDerivationMethod Algorithm="{}"><PBKDF2-params>{inner}</PBKDF2-params></KeyDerivationMethod></DerivedKey></EncryptionKey>"#,
                PBKDF2_URIS[0]
            )
        };
        let salt = "<Salt><Specified>Ej7/PEpyEpw=</Specified></Salt>";
        let count = |n: &str| params(&format!("{salt}<IterationCount>{n}</IterationCount>"));
        let p = "EncryptionKey/DerivedKey/KeyDerivationMethod/PBKDF2-params";
        let md5 = r#"<PRF Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-md5"/>"#;
        let scrypt = params("").replace(PBKDF2_URIS[0], "http://www.w3.org/2009/xmlenc11#scrypt");
        let cases: Vec<(&str, String, String, &str)> = vec![
            (
                "no count",
                params(salt),
                format!("{p}/IterationCount"),
                "missing",
            ),
            (
                "zero",
                count("0"),
                format!("{p}/IterationCount"),
                "invalid: zero",
            ),
            (
                "text",
                count("many"),
                format!("{p}/IterationCount"),
                "invalid",
            ),
            (
                "negative",
                count("-1"),
                format!("{p}/IterationCount"),
                "invalid",
            ),
            (
                "beyond u64",
                count("99999999999999999999999"),
                format!("{p}/IterationCount"),
                "the file asks for 18446744073709551615 PBKDF2 iterations",
            ),
            (
                "just over",
                count("1000001"),
                format!("{p}/IterationCount"),
                "the file asks for 1000001",
            ),
            (
                "no salt",
                params("<IterationCount>1000</IterationCount>"),
                format!("{p}/Salt"),
                "missing",
            ),
            (
                "salt not specified",
                params("<Salt><OtherSource/></Salt><IterationCount>1000</IterationCount>"),
                format!("{p}/Salt/Specified"),
                "missing",
            ),
            (
                "key length 20",
                params(&format!(
                    "{salt}<IterationCount>1000</IterationCount><KeyLength>20</KeyLength>"
                )),
                format!("{p}/KeyLength"),
                "invalid",
            ),
            (
                "MD5 PRF",
                params(&format!("{salt}<IterationCount>1000</IterationCount>{md5}")),
                format!("{p}/PRF/@Algorithm"),
                "unsupported",
            ),
            (
                "scrypt",
                scrypt,
                "EncryptionKey/DerivedKey/KeyDerivationMethod/@Algorithm".into(),
                "unsupported",
            ),
        ];
        for (name, head, path, message) in cases {
            let xml = container(&format!("{head}{}", package("TK1", &plain_key("", ""))));
            let err = import(xml.as_bytes(), &with_password("pw")).unwrap_err();
            assert_eq!(err.path, path, "{name}: {err}");
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("{path}: {message}")),
                "{name}: {text}"
            );
        }
        // Exactly at the cap is fine (and a plaintext file never derives the key).
        let xml = container(&format!(
            "{}{}",
            count("1000000"),
            package("TK1", &plain_key("", ""))
        ));
        assert!(import(xml.as_bytes(), &with_password("pw")).is_ok());
    }

    #[test]
    fn damaged_sample_files_never_panic() {
        let psk = with_psk(PSK_HEX);
        let originals = [import(PSK, &psk).unwrap(), import(PLAIN, &psk).unwrap()];
        for (file, original) in [PSK, PLAIN].iter().zip(&originals) {
            for end in 0..file.len() {
                let _ = import(file.get(..end).unwrap(), &psk);
            }
            for i in 0..file.len() {
                for bits in [0x01u8, 0x20, 0x80] {
                    let mut damaged = file.to_vec();
                    if let Some(b) = damaged.get_mut(i) {
                        *b ^= bits;
                    }
                    if let Ok(seeds) = import(&damaged, &psk) {
                        // A flip in ignored markup may still import; an encrypted secret
                        // never comes out different.
                        if *file == PSK {
                            for (got, want) in seeds.iter().zip(original) {
                                assert_eq!(got.secret, want.secret, "flip at {i}");
                            }
                        }
                    }
                }
            }
        }
    }
}
