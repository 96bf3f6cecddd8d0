//! `kefuctl tls self-signed`: certificates for a trial of kefud's TLS listener.
//!
//! A server's certificate must not be a CA certificate: webpki (rustls) rightly
//! refuses one as a server's own (`CaUsedAsEndEntity`), and that is what the usual
//! one-line `openssl req -x509` makes. So this writes two: a small private CA
//! (`ca.pem`, for the clients to trust) and a server certificate signed by it for
//! the names given (`cert.pem`, the chain kefud serves, leaf first; `key.pem`, its
//! private key, mode 0600). The CA's own key is not kept: to add a name, make a new
//! pair. For production, use certificates from the enterprise's own CA.

use crate::cli::TlsSelfSignedArgs;
use crate::date;
use anyhow::{bail, Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::fs;
use std::io::Write;
use std::path::Path;

/// How long the trial certificates are valid: 825 days, the most browsers accept.
const VALID_DAYS: i64 = 825;

/// Writes `ca.pem`, `cert.pem` and `key.pem` into the output directory.
pub fn self_signed(args: &TlsSelfSignedArgs, out: &mut impl Write) -> Result<()> {
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let paths = ["ca.pem", "cert.pem", "key.pem"].map(|f| args.out.join(f));
    if !args.force {
        if let Some(p) = paths.iter().find(|p| p.exists()) {
            bail!("{} exists; pass --force to replace it", p.display());
        }
    }
    let today = date::now_unix().div_euclid(86_400);
    // Midnight UTC of a day number, as rcgen takes it.
    let day = |days: i64| {
        let (y, m, d) = date::civil_from_days(days);
        let y = i32::try_from(y).unwrap_or(9999);
        rcgen::date_time_ymd(
            y,
            u8::try_from(m).unwrap_or(1),
            u8::try_from(d).unwrap_or(1),
        )
    };
    let (not_before, not_after) = (day(today - 1), day(today + VALID_DAYS));

    let ca_key = KeyPair::generate().context("cannot make the CA's key")?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "Kefu trial CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_cert = ca.self_signed(&ca_key).context("cannot sign the CA")?;

    let key = KeyPair::generate().context("cannot make the server's key")?;
    let mut server = CertificateParams::default();
    server
        .distinguished_name
        .push(DnType::CommonName, args.name[0].clone());
    server.subject_alt_names = args
        .name
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName(n.clone().try_into().with_context(
                || format!("{n:?} is neither a DNS name nor an IP address"),
            )?)),
        })
        .collect::<Result<_>>()?;
    server.is_ca = IsCa::ExplicitNoCa;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.not_before = not_before;
    server.not_after = not_after;
    let cert = server
        .signed_by(&key, &ca_cert, &ca_key)
        .context("cannot sign the server's certificate")?;

    let [ca_path, cert_path, key_path] = &paths;
    write(ca_path, ca_cert.pem().as_bytes(), false)?;
    let chain = format!("{}{}", cert.pem(), ca_cert.pem());
    write(cert_path, chain.as_bytes(), false)?;
    write(key_path, key.serialize_pem().as_bytes(), true)?;
    writeln!(
        out,
        "wrote {} (trust this in clients), {} and {} (for kefud) for {}, valid until {}\n\
         kefud.toml:  tls_cert = \"{}\"  tls_key = \"{}\"\n\
         check with:  kefuctl diagnose --server HOST:PORT --tls --ca {} --login AGENT@ACCOUNT",
        ca_path.display(),
        cert_path.display(),
        key_path.display(),
        args.name.join(", "),
        date::format_unix((today + VALID_DAYS) * 86_400),
        cert_path.display(),
        key_path.display(),
        ca_path.display(),
    )?;
    Ok(())
}

/// Writes a file whole; `secret`: readable by its owner only.
fn write(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}
