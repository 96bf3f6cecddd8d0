//! Stored record types and their versioned encoding: one version byte, then a postcard body.
//!
//! The public types here are what the daemon works with; the bytes on disk are produced by
//! private, frozen body structs (`mod v1`), converted explicitly. **Invariant:** once a
//! version has been released its body struct never changes. A change of shape is a new
//! version byte with a new body struct; the old decoder stays forever and converts into
//! the current public type. Golden-bytes tests pin every released version.
//!
//! Decoding is "parse, don't validate": malformed, truncated, over-long or unknown-version
//! input returns a [`RecordError`]; nothing here panics on disk input.

use serde::{Deserialize, Serialize};

/// A value that is stored in the key-value store.
pub trait StoredRecord: Sized {
    /// Name of the record kind, for error messages.
    const KIND: &'static str;

    /// Encodes the record in the current record-format version.
    fn encode(&self) -> Vec<u8>;

    /// Appends [`Self::encode`]'s bytes to `out`. Records written with every message
    /// encode straight into the batch ([`super::Batch::put_record`]), no allocation of
    /// their own; the others are encoded and copied.
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.encode());
    }

    /// Decodes any known record-format version of this record.
    fn decode(bytes: &[u8]) -> Result<Self, RecordError>;
}

/// Why stored bytes could not be decoded into a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The value is empty: not even a version byte.
    #[error("{kind}: empty value")]
    Empty {
        /// Record kind.
        kind: &'static str,
    },
    /// The version byte is not one this code knows (written by a newer version, or garbage).
    #[error("{kind}: unknown record version {version}")]
    UnknownVersion {
        /// Record kind.
        kind: &'static str,
        /// The version byte found.
        version: u8,
    },
    /// The body does not decode as the body of its version (truncated or garbage).
    #[error("{kind} v{version}: malformed body: {source}")]
    Malformed {
        /// Record kind.
        kind: &'static str,
        /// The version byte found.
        version: u8,
        /// What the body decoder reported.
        #[source]
        source: postcard::Error,
    },
    /// The body decoded but bytes were left over.
    #[error("{kind} v{version}: {count} trailing bytes")]
    TrailingBytes {
        /// Record kind.
        kind: &'static str,
        /// The version byte found.
        version: u8,
        /// Number of bytes left over.
        count: usize,
    },
    /// The body decoded but breaks an invariant of the record.
    #[error("{kind} v{version}: {reason}")]
    Invalid {
        /// Record kind.
        kind: &'static str,
        /// The version byte found.
        version: u8,
        /// Which invariant.
        reason: &'static str,
    },
}

// ---------------------------------------------------------------------------------------
// Public record types
// ---------------------------------------------------------------------------------------

/// An account's plan (§A1): bounds the number of contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plan {
    /// Gold plan: 100,000 contacts.
    Gold,
    /// Silver plan: 25,000 contacts.
    Silver,
}

impl Plan {
    /// Maximum number of contacts an account on this plan may hold.
    pub const fn contact_limit(self) -> u32 {
        match self {
            Plan::Gold => 100_000,
            Plan::Silver => 25_000,
        }
    }
}

/// How the account's main identity (主号) shows its presence to customers (§7.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresenceMode {
    /// Always shown online.
    AlwaysOnline,
    /// Derived from the presence of the account's agents.
    FromAgents,
}

/// A stored password: PBKDF2-HMAC-SHA256 (fixed for record version 1) with its parameters.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    /// PBKDF2 iteration count; never zero in a decoded record.
    pub iterations: u32,
    /// Random per-password salt.
    pub salt: [u8; 16],
    /// Derived key.
    pub hash: [u8; 32],
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The derived key is as good as an offline-crackable password: keep it out of logs.
        f.debug_struct("PasswordHash")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// An account (企业帐号): the unit of ownership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// Account id; also the key.
    pub id: u64,
    /// Display name of the company.
    pub name: String,
    /// Plan, which bounds the number of contacts.
    pub plan: Plan,
    /// End of service, unix seconds.
    pub expires_at: i64,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// The super password (超级密码), needed to change another agent's password (§A3).
    pub super_password: PasswordHash,
    /// How the account's presence is shown (§7.14).
    pub presence_mode: PresenceMode,
}

/// An agent (工号) of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// Owning account.
    pub account: u64,
    /// Agent number (1001…).
    pub agent: u32,
    /// Nickname shown to customers when the account shows nicknames.
    pub nickname: String,
    /// Login password; `None` until one is set (§A2), and then the agent cannot log in.
    pub password: Option<PasswordHash>,
    /// Role id (see [`RoleRecord`]).
    pub role: u32,
    /// Credential generation: bumped whenever the password changes, which invalidates
    /// every session issued under an older generation.
    pub credential_gen: u32,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

/// A role of an account: a named set of permissions (§7.12–7.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    /// Owning account.
    pub account: u64,
    /// Role id, unique within the account (1–3 are the [`DEFAULT_ROLES`]).
    pub role: u32,
    /// Display name.
    pub name: String,
    /// Bit mask over the 16 permissions: bit i = permission i+1 (see [`Permission::bit`]).
    pub permissions: u16,
}

impl RoleRecord {
    /// The role's permissions as a typed set.
    pub const fn permission_set(&self) -> PermissionSet {
        PermissionSet(self.permissions)
    }
}

/// An agent's login session. Keyed by (account, agent): a new login replaces the old one.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Account of the agent.
    pub account: u64,
    /// Agent number.
    pub agent: u32,
    /// SHA-256 of the session token; the token itself is never stored.
    pub token_hash: [u8; 32],
    /// The agent's [`AgentRecord::credential_gen`] when the session was issued.
    pub credential_gen: u32,
    /// Issue time, unix seconds.
    pub created_at: i64,
    /// Expiry, unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("account", &self.account)
            .field("agent", &self.agent)
            .field("credential_gen", &self.credential_gen)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The store's schema version, kept in the meta column family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaVersion(pub u32);

// ---------------------------------------------------------------------------------------
// Permissions and default roles
// ---------------------------------------------------------------------------------------

/// One of the 16 permissions of manual §7.13, numbered as the manual numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Permission {
    /// 1. Set shared quick replies (设置共用快捷回复).
    SharedQuickReplies = 1,
    /// 2. Grab a customer being served by another agent (抢接).
    Grab = 2,
    /// 3. See every customer in the waiting list, including exclusive ones.
    SeeWholeQueue = 3,
    /// 4. See all customers' messages and profiles.
    SeeAllCustomers = 4,
    /// 5. See own customers' chats with other agents after a transfer.
    SeeOwnCustomersChats = 5,
    /// 6. Bulk import contacts.
    BulkImport = 6,
    /// 7. Delete any customer.
    DeleteCustomers = 7,
    /// 8. Change a customer's group.
    ManageGroups = 8,
    /// 9. Analytics.
    Analytics = 9,
    /// 10. Value-added services (broadcasts, surveys).
    ValueAdded = 10,
    /// 11. System settings (agents, groups, roles).
    SystemSettings = 11,
    /// 12. Business settings.
    BusinessSettings = 12,
    /// 13. Account information in the account centre.
    AccountInfo = 13,
    /// 14. Enterprise space.
    EnterpriseSpace = 14,
    /// 15. Campaigns.
    Campaigns = 15,
    /// 16. Account-centre configuration of the service.
    AccountCentreConfig = 16,
}

impl Permission {
    /// Every permission, in manual order.
    pub const ALL: [Permission; 16] = [
        Permission::SharedQuickReplies,
        Permission::Grab,
        Permission::SeeWholeQueue,
        Permission::SeeAllCustomers,
        Permission::SeeOwnCustomersChats,
        Permission::BulkImport,
        Permission::DeleteCustomers,
        Permission::ManageGroups,
        Permission::Analytics,
        Permission::ValueAdded,
        Permission::SystemSettings,
        Permission::BusinessSettings,
        Permission::AccountInfo,
        Permission::EnterpriseSpace,
        Permission::Campaigns,
        Permission::AccountCentreConfig,
    ];

    /// The manual's number of this permission (1..=16).
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The permission numbered `number` in the manual.
    pub fn from_number(number: u8) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.number() == number)
    }

    /// This permission's bit in a [`PermissionSet`] / [`RoleRecord::permissions`].
    pub const fn bit(self) -> u16 {
        // `number()` is 1..=16, so the shift is 0..=15.
        1 << (self.number() - 1)
    }
}

/// A set of [`Permission`]s: bit i = permission i+1. Every `u16` is a valid set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet(pub u16);

impl PermissionSet {
    /// No permission.
    pub const fn empty() -> Self {
        PermissionSet(0)
    }

    /// All 16 permissions.
    pub const fn all() -> Self {
        PermissionSet(u16::MAX)
    }

    /// The raw bit mask.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether `permission` is in the set.
    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Adds `permission`.
    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    /// Removes `permission`.
    pub fn remove(&mut self, permission: Permission) {
        self.0 &= !permission.bit();
    }

    /// The set with `permission` added (for building constants).
    pub const fn with(self, permission: Permission) -> Self {
        PermissionSet(self.0 | permission.bit())
    }

    /// The permissions in the set, in manual order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::empty();
        for p in iter {
            set.insert(p);
        }
        set
    }
}

/// A role every new account starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultRole {
    /// Role id.
    pub role: u32,
    /// Display name, as the manual names it.
    pub name: &'static str,
    /// Its permissions.
    pub permissions: PermissionSet,
}

impl DefaultRole {
    /// The record that provisions this role for `account`.
    pub fn record(&self, account: u64) -> RoleRecord {
        RoleRecord {
            account,
            role: self.role,
            name: self.name.to_owned(),
            permissions: self.permissions.bits(),
        }
    }
}

/// Role id of the default super admin role.
pub const SUPER_ADMIN_ROLE: u32 = 1;
/// Role id of the default admin role.
pub const ADMIN_ROLE: u32 = 2;
/// Role id of the default agent role.
pub const AGENT_ROLE: u32 = 3;

/// The three roles of a new account (§7.13): super admin has all 16 permissions; admin has
/// permissions 1–12 (everything but the account-centre ones, 13–16); agent has exactly
/// the manual's default three (4, 5, 8).
pub const DEFAULT_ROLES: [DefaultRole; 3] = [
    DefaultRole {
        role: SUPER_ADMIN_ROLE,
        name: "超级管理员",
        permissions: PermissionSet::all(),
    },
    DefaultRole {
        role: ADMIN_ROLE,
        name: "管理员",
        permissions: PermissionSet(0x0fff),
    },
    DefaultRole {
        role: AGENT_ROLE,
        name: "客服",
        permissions: PermissionSet::empty()
            .with(Permission::SeeAllCustomers)
            .with(Permission::SeeOwnCustomersChats)
            .with(Permission::ManageGroups),
    },
];

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/// Record-format version 1 for every record kind.
pub(super) const V1: u8 = 1;

/// Frozen record-format version 1 bodies. Never edit a released body: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum Plan {
        Gold,
        Silver,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum PresenceMode {
        AlwaysOnline,
        FromAgents,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct PasswordHash {
        pub iterations: u32,
        pub salt: [u8; 16],
        pub hash: [u8; 32],
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Account<'a> {
        pub id: u64,
        pub name: &'a str,
        pub plan: Plan,
        pub expires_at: i64,
        pub created_at: i64,
        pub super_password: PasswordHash,
        pub presence_mode: PresenceMode,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Agent<'a> {
        pub account: u64,
        pub agent: u32,
        pub nickname: &'a str,
        pub password: Option<PasswordHash>,
        pub role: u32,
        pub credential_gen: u32,
        pub created_at: i64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Role<'a> {
        pub account: u64,
        pub role: u32,
        pub name: &'a str,
        pub permissions: u16,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Session {
        pub account: u64,
        pub agent: u32,
        pub token_hash: [u8; 32],
        pub credential_gen: u32,
        pub created_at: i64,
        pub expires_at: i64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Schema {
        pub version: u32,
    }
}

/// Version byte followed by the postcard body.
pub(super) fn encode_versioned<T: Serialize>(version: u8, body: &T) -> Vec<u8> {
    let mut out = Vec::new();
    encode_versioned_into(version, body, &mut out);
    out
}

/// [`encode_versioned`], appended to `out`.
pub(super) fn encode_versioned_into<T: Serialize>(version: u8, body: &T, out: &mut Vec<u8>) {
    out.push(version);
    // Serialising into a Vec fails only for sequences of unknown length, and no body has
    // one; the round-trip tests exercise every body type. The Vec moves in and back.
    *out = postcard::to_extend(body, std::mem::take(out)).expect("postcard into Vec is infallible");
}

/// Decodes a record kind that has only version 1 so far, or names the version it does not know.
pub(super) fn decode_v1<'a, B: Deserialize<'a>>(
    kind: &'static str,
    bytes: &'a [u8],
) -> Result<B, RecordError> {
    match split_version(kind, bytes)? {
        (V1, body) => decode_body(kind, V1, body),
        (version, _) => Err(RecordError::UnknownVersion { kind, version }),
    }
}

/// Splits off the version byte.
pub(super) fn split_version<'a>(
    kind: &'static str,
    bytes: &'a [u8],
) -> Result<(u8, &'a [u8]), RecordError> {
    bytes
        .split_first()
        .map(|(version, body)| (*version, body))
        .ok_or(RecordError::Empty { kind })
}

/// Decodes a whole body; leftover bytes are an error.
pub(super) fn decode_body<'a, T: Deserialize<'a>>(
    kind: &'static str,
    version: u8,
    body: &'a [u8],
) -> Result<T, RecordError> {
    let (value, rest) =
        postcard::take_from_bytes(body).map_err(|source| RecordError::Malformed {
            kind,
            version,
            source,
        })?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(RecordError::TrailingBytes {
            kind,
            version,
            count: rest.len(),
        })
    }
}

impl From<Plan> for v1::Plan {
    fn from(plan: Plan) -> Self {
        match plan {
            Plan::Gold => v1::Plan::Gold,
            Plan::Silver => v1::Plan::Silver,
        }
    }
}

impl From<v1::Plan> for Plan {
    fn from(plan: v1::Plan) -> Self {
        match plan {
            v1::Plan::Gold => Plan::Gold,
            v1::Plan::Silver => Plan::Silver,
        }
    }
}

impl From<PresenceMode> for v1::PresenceMode {
    fn from(mode: PresenceMode) -> Self {
        match mode {
            PresenceMode::AlwaysOnline => v1::PresenceMode::AlwaysOnline,
            PresenceMode::FromAgents => v1::PresenceMode::FromAgents,
        }
    }
}

impl From<v1::PresenceMode> for PresenceMode {
    fn from(mode: v1::PresenceMode) -> Self {
        match mode {
            v1::PresenceMode::AlwaysOnline => PresenceMode::AlwaysOnline,
            v1::PresenceMode::FromAgents => PresenceMode::FromAgents,
        }
    }
}

impl From<&PasswordHash> for v1::PasswordHash {
    fn from(p: &PasswordHash) -> Self {
        v1::PasswordHash {
            iterations: p.iterations,
            salt: p.salt,
            hash: p.hash,
        }
    }
}

impl v1::PasswordHash {
    fn parse(self, kind: &'static str) -> Result<PasswordHash, RecordError> {
        if self.iterations == 0 {
            return Err(RecordError::Invalid {
                kind,
                version: V1,
                reason: "password hash with zero iterations",
            });
        }
        Ok(PasswordHash {
            iterations: self.iterations,
            salt: self.salt,
            hash: self.hash,
        })
    }
}

impl StoredRecord for AccountRecord {
    const KIND: &'static str = "account";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Account {
                id: self.id,
                name: &self.name,
                plan: self.plan.into(),
                expires_at: self.expires_at,
                created_at: self.created_at,
                super_password: (&self.super_password).into(),
                presence_mode: self.presence_mode.into(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let kind = Self::KIND;
        match split_version(kind, bytes)? {
            (V1, body) => {
                let b: v1::Account<'_> = decode_body(kind, V1, body)?;
                Ok(AccountRecord {
                    id: b.id,
                    name: b.name.to_owned(),
                    plan: b.plan.into(),
                    expires_at: b.expires_at,
                    created_at: b.created_at,
                    super_password: b.super_password.parse(kind)?,
                    presence_mode: b.presence_mode.into(),
                })
            }
            (version, _) => Err(RecordError::UnknownVersion { kind, version }),
        }
    }
}

impl StoredRecord for AgentRecord {
    const KIND: &'static str = "agent";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Agent {
                account: self.account,
                agent: self.agent,
                nickname: &self.nickname,
                password: self.password.as_ref().map(Into::into),
                role: self.role,
                credential_gen: self.credential_gen,
                created_at: self.created_at,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let kind = Self::KIND;
        match split_version(kind, bytes)? {
            (V1, body) => {
                let b: v1::Agent<'_> = decode_body(kind, V1, body)?;
                Ok(AgentRecord {
                    account: b.account,
                    agent: b.agent,
                    nickname: b.nickname.to_owned(),
                    password: b.password.map(|p| p.parse(kind)).transpose()?,
                    role: b.role,
                    credential_gen: b.credential_gen,
                    created_at: b.created_at,
                })
            }
            (version, _) => Err(RecordError::UnknownVersion { kind, version }),
        }
    }
}

impl StoredRecord for RoleRecord {
    const KIND: &'static str = "role";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Role {
                account: self.account,
                role: self.role,
                name: &self.name,
                permissions: self.permissions,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let kind = Self::KIND;
        match split_version(kind, bytes)? {
            (V1, body) => {
                let b: v1::Role<'_> = decode_body(kind, V1, body)?;
                Ok(RoleRecord {
                    account: b.account,
                    role: b.role,
                    name: b.name.to_owned(),
                    permissions: b.permissions,
                })
            }
            (version, _) => Err(RecordError::UnknownVersion { kind, version }),
        }
    }
}

impl StoredRecord for SessionRecord {
    const KIND: &'static str = "session";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Session {
                account: self.account,
                agent: self.agent,
                token_hash: self.token_hash,
                credential_gen: self.credential_gen,
                created_at: self.created_at,
                expires_at: self.expires_at,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let kind = Self::KIND;
        match split_version(kind, bytes)? {
            (V1, body) => {
                let b: v1::Session = decode_body(kind, V1, body)?;
                Ok(SessionRecord {
                    account: b.account,
                    agent: b.agent,
                    token_hash: b.token_hash,
                    credential_gen: b.credential_gen,
                    created_at: b.created_at,
                    expires_at: b.expires_at,
                })
            }
            (version, _) => Err(RecordError::UnknownVersion { kind, version }),
        }
    }
}

impl StoredRecord for SchemaVersion {
    const KIND: &'static str = "schema version";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(V1, &v1::Schema { version: self.0 })
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let kind = Self::KIND;
        match split_version(kind, bytes)? {
            (V1, body) => {
                let b: v1::Schema = decode_body(kind, V1, body)?;
                Ok(SchemaVersion(b.version))
            }
            (version, _) => Err(RecordError::UnknownVersion { kind, version }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password() -> PasswordHash {
        PasswordHash {
            iterations: 600_000,
            salt: [0x11; 16],
            hash: [0x22; 32],
        }
    }

    fn account() -> AccountRecord {
        AccountRecord {
            id: 800_001,
            name: "示例公司 Ltd".to_owned(),
            plan: Plan::Silver,
            expires_at: 1_800_000_000,
            created_at: 1_700_000_000,
            super_password: password(),
            presence_mode: PresenceMode::FromAgents,
        }
    }

    fn agent() -> AgentRecord {
        AgentRecord {
            account: 800_001,
            agent: 1001,
            nickname: "小王".to_owned(),
            password: Some(password()),
            role: SUPER_ADMIN_ROLE,
            credential_gen: 3,
            created_at: 1_700_000_000,
        }
    }

    fn role() -> RoleRecord {
        DEFAULT_ROLES[2].record(800_001)
    }

    fn session() -> SessionRecord {
        SessionRecord {
            account: 800_001,
            agent: 1002,
            token_hash: [0x33; 32],
            credential_gen: 3,
            created_at: 1_700_000_000,
            expires_at: 1_700_086_400,
        }
    }

    /// Decodes, then re-encodes: one record kind, type-erased.
    type Reencode = fn(&[u8]) -> Result<Vec<u8>, RecordError>;

    /// Encoded samples of every record kind, with their decoder.
    fn samples() -> Vec<(&'static str, Vec<u8>, Reencode)> {
        fn re<T: StoredRecord>(bytes: &[u8]) -> Result<Vec<u8>, RecordError> {
            T::decode(bytes).map(|r| r.encode())
        }
        vec![
            ("account", account().encode(), re::<AccountRecord>),
            ("agent", agent().encode(), re::<AgentRecord>),
            ("role", role().encode(), re::<RoleRecord>),
            ("session", session().encode(), re::<SessionRecord>),
            ("schema", SchemaVersion(1).encode(), re::<SchemaVersion>),
        ]
    }

    #[test]
    fn every_record_round_trips() {
        assert_eq!(AccountRecord::decode(&account().encode()), Ok(account()));
        let mut a = account();
        a.plan = Plan::Gold;
        a.presence_mode = PresenceMode::AlwaysOnline;
        a.expires_at = i64::MIN;
        a.created_at = i64::MAX;
        assert_eq!(AccountRecord::decode(&a.encode()), Ok(a));

        assert_eq!(AgentRecord::decode(&agent().encode()), Ok(agent()));
        let mut g = agent();
        g.password = None;
        g.nickname = String::new();
        assert_eq!(AgentRecord::decode(&g.encode()), Ok(g));

        for default in DEFAULT_ROLES {
            let r = default.record(u64::MAX);
            assert_eq!(RoleRecord::decode(&r.encode()), Ok(r));
        }
        assert_eq!(SessionRecord::decode(&session().encode()), Ok(session()));
        for v in [0, 1, u32::MAX] {
            assert_eq!(
                SchemaVersion::decode(&SchemaVersion(v).encode()),
                Ok(SchemaVersion(v))
            );
        }
    }

    /// Pins record-format version 1: if one of these fails, the on-disk format changed
    /// and existing data directories would no longer decode. Add a new version instead.
    #[test]
    fn version_1_golden_bytes() {
        let hex = |bytes: &[u8]| crate::store::keys::hex(bytes);
        // Expected bytes worked out independently of this code: postcard varints (LEB128),
        // zig-zag for i64, length-prefixed UTF-8, fixed arrays inline, enum = variant index.
        let id = "81ea30"; // 800_001
        let created = "80c49fd50c"; // 1_700_000_000 zig-zag
        let pw = format!("c0cf24{}{}", "11".repeat(16), "22".repeat(32)); // 600_000, salt, hash
        let cases: [(&str, Vec<u8>, String); 5] = [
            (
                "account",
                account().encode(),
                format!(
                    "01{id}\
                     10e7a4bae4be8be585ace58fb8204c7464\
                     01\
                     80c8ceb40d\
                     {created}\
                     {pw}\
                     01"
                ),
            ),
            (
                "agent",
                agent().encode(),
                format!("01{id}e90706e5b08fe78e8b01{pw}0103{created}"),
            ),
            (
                "role",
                role().encode(),
                format!("01{id}0306e5aea2e69c8d9801"),
            ),
            (
                "session",
                session().encode(),
                format!("01{id}ea07{}03{created}808aaad50c", "33".repeat(32)),
            ),
            ("schema", SchemaVersion(1).encode(), "0101".to_owned()),
        ];
        for (kind, bytes, golden) in cases {
            assert_eq!(hex(&bytes), golden, "{kind}");
        }
    }

    #[test]
    fn empty_and_unknown_versions_are_refused() {
        for (kind, bytes, decode) in samples() {
            assert!(
                matches!(decode(&[]), Err(RecordError::Empty { .. })),
                "{kind}"
            );
            for version in [0u8, 2, 0xff] {
                let mut other = bytes.clone();
                other[0] = version;
                assert!(
                    matches!(decode(&other), Err(RecordError::UnknownVersion { version: v, .. }) if v == version),
                    "{kind} v{version}"
                );
            }
        }
    }

    #[test]
    fn truncated_and_extended_bodies_are_refused() {
        for (kind, bytes, decode) in samples() {
            assert_eq!(decode(&bytes), Ok(bytes.clone()), "{kind}");
            for len in 1..bytes.len() {
                assert!(decode(&bytes[..len]).is_err(), "{kind} truncated to {len}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(
                matches!(
                    decode(&longer),
                    Err(RecordError::TrailingBytes { count: 1, .. })
                ),
                "{kind}"
            );
        }
    }

    #[test]
    fn zero_iterations_are_refused() {
        let mut g = agent();
        if let Some(p) = g.password.as_mut() {
            p.iterations = 0;
        }
        assert!(matches!(
            AgentRecord::decode(&g.encode()),
            Err(RecordError::Invalid { .. })
        ));
        let mut a = account();
        a.super_password.iterations = 0;
        assert!(matches!(
            AccountRecord::decode(&a.encode()),
            Err(RecordError::Invalid { .. })
        ));
    }

    #[test]
    fn garbage_never_panics() {
        // xorshift64: deterministic, no dependency.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let decoders = samples();
        for round in 0..20_000u32 {
            let len = (next() % 80) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 2 == 0 {
                if let Some(first) = bytes.first_mut() {
                    *first = V1; // reach the body decoder, not just the version check
                }
            }
            for (_, sample, decode) in &decoders {
                let _ = decode(&bytes);
                // Also flip a byte of a valid record.
                let mut flipped = sample.clone();
                let i = (next() as usize) % flipped.len();
                flipped[i] ^= next() as u8 | 1;
                let _ = decode(&flipped);
            }
        }
    }

    #[test]
    fn permission_bits_follow_the_manual_numbers() {
        for (i, p) in Permission::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(p.number()), i + 1);
            assert_eq!(p.bit(), 1u16 << i);
            assert_eq!(Permission::from_number(p.number()), Some(p));
        }
        assert_eq!(Permission::from_number(0), None);
        assert_eq!(Permission::from_number(17), None);

        let mut set = PermissionSet::empty();
        set.insert(Permission::Grab);
        set.insert(Permission::AccountCentreConfig);
        assert!(set.contains(Permission::Grab));
        assert!(!set.contains(Permission::SharedQuickReplies));
        assert_eq!(set.bits(), 0b1000_0000_0000_0010);
        set.remove(Permission::Grab);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Permission::AccountCentreConfig]
        );
        assert_eq!(PermissionSet::all().iter().count(), 16);
    }

    #[test]
    fn default_roles_match_the_manual() {
        let [super_admin, admin, agent] = DEFAULT_ROLES;
        assert_eq!((super_admin.role, super_admin.name), (1, "超级管理员"));
        assert_eq!(super_admin.permissions, PermissionSet::all());
        assert_eq!((admin.role, admin.name), (2, "管理员"));
        assert_eq!(
            admin.permissions,
            Permission::ALL
                .into_iter()
                .filter(|p| p.number() <= 12)
                .collect()
        );
        assert_eq!((agent.role, agent.name), (3, "客服"));
        let numbers: Vec<u8> = agent.permissions.iter().map(Permission::number).collect();
        assert_eq!(numbers, [4, 5, 8]);
    }

    #[test]
    fn debug_hides_secrets() {
        let shown = format!("{:?} {:?}", agent(), session());
        assert!(!shown.contains("34, 34"), "{shown}");
        assert!(!shown.contains("51, 51"), "{shown}");
    }
}
