//! systemd readiness (`Type=notify`): `READY=1` and `STOPPING=1` sent as datagrams to
//! the Unix socket named by `NOTIFY_SOCKET`, which is what `sd_notify(3)` does, without
//! linking libsystemd. Without the variable (SysV init, a shell) nothing is sent. An
//! abstract socket is written `@name`.

use std::os::unix::net::UnixDatagram;

/// Tells the service manager the daemon is ready (every listener bound).
pub fn ready() -> std::io::Result<()> {
    send("READY=1\nSTATUS=serving")
}

/// Tells the service manager the daemon is stopping.
pub fn stopping() -> std::io::Result<()> {
    send("STOPPING=1")
}

/// Sends `state` to `$NOTIFY_SOCKET`, if set; `Ok` without it.
pub fn send(state: &str) -> std::io::Result<()> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let socket = UnixDatagram::unbound()?;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            socket.send_to(state.as_bytes(), &path)?;
        }
    }
    Ok(())
}
