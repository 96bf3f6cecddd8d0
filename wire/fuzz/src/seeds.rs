//! Seed inputs for the targets: valid bodies and frames of every kind and variant, plus
//! malformed ones, written to `corpus/<target>/` by `cargo run --bin make-corpus`.
//!
//! Every enum variant of `Request`, `Response` and `Event` has a seed. The test
//! `every_variant_is_seeded` matches them exhaustively, so appending a variant makes
//! `cargo test` here fail to compile until it is seeded; the targets still build.

use crate::{frame_decoder, messages};
use bytes::BytesMut;
use kefu_wire::chat::{
    AccountPresenceMode, CallKind, CallPhase, CallSignal, Channel, ConversationInfo,
    ConversationState, CustomerId, CustomerSession, Entry, MessageBody, MessageInfo, Party, Signal,
};
use kefu_wire::crm::{
    ContactEdit, ContactInfo, ContactNotice, ContactPage, ContactQuery, ContactSettings,
    ContactSort, ContactState, GroupEdit, GroupInfo, GroupNode, HistoryKind, HistoryPage,
    HistoryQuery, ImportReport, InvalidRow, TagEdit, TagInfo, Visit,
};
use kefu_wire::{
    AccountCentreModule, AccountInfo, AgentFigures, AgentInfo, AgentProfile, Body, DisplayMode,
    ErrorBody, ErrorCode, Event, FrameKind, GoAway, Hello, Ping, Plan, Pong, Presence,
    PresenceChange, Push, PushAck, QuickReply, Request, Response, RoleInfo, SecurityInfo,
    SecurityLevel, SessionInfo, ShardStats, TokenFileFormat, Welcome, MAGIC,
};

/// One seed file.
#[derive(Debug, Clone)]
pub struct Seed {
    /// File name under `corpus/<target>/`: `valid-…` or `malformed-…`.
    pub name: String,
    /// File contents: an input for the target's `check`.
    pub bytes: Vec<u8>,
}

impl Seed {
    fn new(name: impl Into<String>, bytes: Vec<u8>) -> Seed {
        Seed {
            name: name.into(),
            bytes,
        }
    }

    /// Whether the seed is meant to decode (its name says so).
    pub fn is_valid(&self) -> bool {
        self.name.starts_with("valid-")
    }
}

/// The targets and their seeds, by target name.
pub fn all() -> Vec<(&'static str, Vec<Seed>)> {
    vec![
        ("frame_decoder", frame_decoder_seeds()),
        ("messages", message_seeds()),
    ]
}

// ---------------------------------------------------------------------------------------
// Sample values
// ---------------------------------------------------------------------------------------

fn hello() -> Hello {
    Hello {
        magic: MAGIC,
        min_version: 1,
        max_version: 1,
        client: "kefuctl/0.1.0".into(),
    }
}

fn welcome() -> Welcome {
    Welcome {
        version: 1,
        server: "kefud/0.1.0".into(),
        max_frame: 1 << 20,
        heartbeat_ms: 15_000,
        idle_timeout_ms: 45_000,
    }
}

fn session() -> SessionInfo {
    SessionInfo {
        account: 800_001,
        agent: 1001,
        nickname: "客服小王".into(),
        role: 1,
        permissions: 0xffff,
        token: [0xa5; 16],
        token_expires_at: 1_767_225_600,
        account_expires_at: -1,
    }
}

fn account() -> AccountInfo {
    AccountInfo {
        account: u64::MAX,
        name: "Acme Trading Co.".into(),
        plan: Plan::Silver,
        expires_at: i64::MAX,
        created_at: i64::MIN,
        agents: 3,
    }
}

fn agent(agent: u32, presence: Presence) -> AgentInfo {
    AgentInfo {
        agent,
        nickname: format!("agent {agent}"),
        role: 2,
        has_password: agent % 2 == 1,
        presence,
    }
}

fn role(role: u32) -> RoleInfo {
    RoleInfo {
        role,
        name: format!("role {role}"),
        permissions: 0x00ff,
        agents: role * 2,
    }
}

fn conversation(state: ConversationState) -> ConversationInfo {
    ConversationInfo {
        conversation: 17,
        customer: CustomerId::Identified("crm-000042".into()),
        channel: Channel::Web,
        state,
        opened_at: 1_767_225_600_123,
        unread: 2,
    }
}

fn message(id: u64, from: Party, body: MessageBody) -> MessageInfo {
    MessageInfo {
        conversation: 17,
        id,
        at: 1_767_225_601_000,
        from,
        body,
    }
}

fn contact() -> ContactInfo {
    ContactInfo {
        customer: CustomerId::Identified("crm-000042".into()),
        state: ContactState::Friend,
        owner: Some(1002),
        real_name: "张三".into(),
        remark: "上海".into(),
        nickname: "zs".into(),
        phone: "13800138000".into(),
        email: "zhangsan@example.com".into(),
        fields: vec![("公司".into(), "Acme".into())],
        groups: vec![3],
        tags: vec![1],
        visit: Some(Visit {
            first_at: 1_767_225_600,
            last_at: 1_767_229_200,
            visits: 2,
            source: "https://www.example.com/".into(),
            region: "上海".into(),
        }),
        last_accepted: Some((1_767_225_600, 1002)),
        last_contact_at: Some(1_767_229_200),
        created_at: 1_735_689_600,
    }
}

fn request_seeds() -> Vec<(&'static str, Request)> {
    let mut all = vec![
        (
            "login",
            Request::Login {
                account: 800_001,
                agent: 1001,
                password: "correct horse".into(),
                otp: None,
            },
        ),
        (
            "login-otp",
            Request::Login {
                account: 1,
                agent: 9999,
                password: String::new(),
                otp: Some("123456".into()),
            },
        ),
        (
            "resume",
            Request::Resume {
                account: 800_001,
                agent: 1002,
                token: [7; 16],
            },
        ),
        ("logout", Request::Logout),
        (
            "set-presence",
            Request::SetPresence {
                presence: Presence::Busy,
            },
        ),
        (
            "add-agent",
            Request::AddAgent {
                agent: 1002,
                nickname: "小李".into(),
                role: Some(3),
            },
        ),
        (
            "set-agent-password",
            Request::SetAgentPassword {
                agent: 1002,
                new_password: "n3w-passw0rd".into(),
                super_password: "super".into(),
            },
        ),
        (
            "change-own-password",
            Request::ChangeOwnPassword {
                old_password: "old".into(),
                new_password: "new-and-longer".into(),
            },
        ),
        (
            "change-super-password",
            Request::ChangeSuperPassword {
                old_super_password: "super".into(),
                new_super_password: "super-2".into(),
            },
        ),
        ("list-agents", Request::ListAgents),
        ("who-am-i", Request::WhoAmI),
        (
            "admin-create-account",
            Request::AdminCreateAccount {
                account: 800_002,
                name: "Acme".into(),
                plan: Plan::Gold,
                expires_at: 1_800_000_000,
                password_1001: "first".into(),
                super_password: "super".into(),
            },
        ),
        (
            "admin-list-accounts",
            Request::AdminListAccounts {
                after: Some(800_001),
                limit: 1000,
            },
        ),
        (
            "admin-show-account",
            Request::AdminShowAccount { account: 800_001 },
        ),
        (
            "admin-add-agent",
            Request::AdminAddAgent {
                account: 800_001,
                agent: 1003,
                nickname: "night shift".into(),
                role: None,
            },
        ),
        (
            "admin-set-agent-password",
            Request::AdminSetAgentPassword {
                account: 800_001,
                agent: 1001,
                new_password: "reset".into(),
            },
        ),
        (
            "admin-list-agents",
            Request::AdminListAgents { account: 800_001 },
        ),
        ("admin-stats", Request::AdminStats),
        ("list-roles", Request::ListRoles),
        (
            "create-role",
            Request::CreateRole {
                name: "night supervisors".into(),
                permissions: 0b1010_0000_0000_0001,
            },
        ),
        (
            "update-role",
            Request::UpdateRole {
                role: 4,
                name: "主管".into(),
                permissions: u16::MAX,
            },
        ),
        ("delete-role", Request::DeleteRole { role: 4 }),
        (
            "set-agent-role",
            Request::SetAgentRole {
                agent: 1002,
                role: 2,
            },
        ),
        (
            "get-agent-profile",
            Request::GetAgentProfile { agent: 1002 },
        ),
        (
            "set-agent-profile",
            Request::SetAgentProfile {
                agent: 1002,
                profile: AgentProfile {
                    nickname: "小李".into(),
                    group: "after-sales".into(),
                    display: DisplayMode::AgentNumber,
                    phone: "+86 10-1234-5678".into(),
                },
            },
        ),
        (
            "set-security-level",
            Request::SetSecurityLevel {
                level: SecurityLevel::High,
            },
        ),
        (
            "set-security-level-low",
            Request::SetSecurityLevel {
                level: SecurityLevel::Low,
            },
        ),
        ("get-security", Request::GetSecurity),
        (
            "bind-token",
            Request::BindToken {
                agent: 1001,
                serial: "FT-0001".into(),
                code: "123456".into(),
            },
        ),
        ("unbind-token", Request::UnbindToken { agent: 1001 }),
        (
            "calibrate-token",
            Request::CalibrateToken {
                serial: "FT-0001".into(),
                code: "123456".into(),
                next_code: "654321".into(),
            },
        ),
        (
            "admin-on-account",
            Request::on_account(
                800_001,
                &Request::SetAgentRole {
                    agent: 1002,
                    role: 1,
                },
            ),
        ),
        (
            "admin-import-tokens",
            Request::AdminImportTokens {
                format: TokenFileFormat::Csv,
                data: b"FT-0001,3132333435363738393031323334353637383930\n".to_vec(),
                key_hex: None,
                password: Some("vendor".into()),
            },
        ),
        (
            "admin-import-tokens-pskc",
            Request::AdminImportTokens {
                format: TokenFileFormat::Pskc,
                data: b"<KeyContainer Version=\"1.0\"/>".to_vec(),
                key_hex: Some("00112233445566778899aabbccddeeff".into()),
                password: None,
            },
        ),
        (
            "admin-unlock-token",
            Request::AdminUnlockToken {
                serial: "FT-0001".into(),
            },
        ),
        (
            "admin-unlock-agent",
            Request::AdminUnlockAgent {
                account: 800_001,
                agent: 1002,
            },
        ),
        (
            "customer-login",
            Request::CustomerLogin {
                account: 800_001,
                customer: "crm-000042".into(),
                expires_at: 1_767_225_600,
                signature: [0x5c; 32],
                channel: Channel::Desktop,
            },
        ),
        (
            "visitor-login",
            Request::VisitorLogin {
                account: 800_001,
                token: None,
                channel: Channel::Web,
            },
        ),
        (
            "visitor-login-token",
            Request::VisitorLogin {
                account: 800_001,
                token: Some([0x3c; 32]),
                channel: Channel::Mobile,
            },
        ),
        (
            "open-conversation",
            Request::OpenConversation { entry: Entry::Auto },
        ),
        (
            "open-conversation-agent",
            Request::OpenConversation {
                entry: Entry::Agent(1002),
            },
        ),
        (
            "open-conversation-group",
            Request::OpenConversation {
                entry: Entry::Group("售后".into()),
            },
        ),
        (
            "send-message",
            Request::SendMessage {
                conversation: 17,
                client_msg_id: 1,
                body: MessageBody::Text("你好 👋".into()),
            },
        ),
        (
            "send-message-image",
            Request::SendMessage {
                conversation: 17,
                client_msg_id: 2,
                body: MessageBody::Image {
                    reference: "img/ab12cd".into(),
                },
            },
        ),
        (
            "send-message-file",
            Request::SendMessage {
                conversation: u64::MAX,
                client_msg_id: u64::MAX,
                body: MessageBody::File {
                    reference: "f/9c1e".into(),
                    name: "invoice.pdf".into(),
                    size: 1 << 20,
                },
            },
        ),
        ("set-auto-accept", Request::SetAutoAccept { cap: 5 }),
        ("list-queue", Request::ListQueue),
        ("list-conversations", Request::ListConversations),
        (
            "accept-conversation",
            Request::AcceptConversation { conversation: 17 },
        ),
        (
            "close-conversation",
            Request::CloseConversation { conversation: 17 },
        ),
        (
            "admin-rotate-customer-key",
            Request::AdminRotateCustomerKey { account: 800_001 },
        ),
        (
            "transfer-conversation",
            Request::TransferConversation {
                conversation: 17,
                to_agent: 1003,
            },
        ),
        (
            "grab-conversation",
            Request::GrabConversation {
                conversation: 17,
                confirmed: true,
            },
        ),
        (
            "conversation-messages",
            Request::ConversationMessages {
                conversation: 17,
                after: 300,
                limit: 50,
            },
        ),
        ("get-routing-settings", Request::GetRoutingSettings),
        (
            "reselect",
            Request::Reselect {
                conversation: 17,
                entry: kefu_wire::chat::Entry::Group("sales".into()),
            },
        ),
        (
            "initiate-conversation",
            Request::InitiateConversation {
                customer: kefu_wire::chat::CustomerId::Visitor([3; 16]),
                channel: kefu_wire::chat::Channel::Web,
            },
        ),
        (
            "logout-with",
            Request::LogoutWith {
                keep_conversations: false,
            },
        ),
        (
            "create-contact",
            Request::CreateContact {
                customer: CustomerId::Identified("crm-000042".into()),
                state: ContactState::Friend,
                edit: ContactEdit {
                    real_name: Some("张三".into()),
                    remark: Some("上海".into()),
                    fields: vec![("公司".into(), Some("Acme".into()))],
                    groups: Some(vec![3]),
                    tags: Some(vec![1, 2]),
                    ..ContactEdit::default()
                },
            },
        ),
        (
            "get-contact",
            Request::GetContact {
                customer: CustomerId::Visitor([3; 16]),
            },
        ),
        (
            "update-contact",
            Request::UpdateContact {
                customer: CustomerId::Identified("crm-000042".into()),
                edit: ContactEdit {
                    phone: Some("+86 138-0013-8000".into()),
                    fields: vec![("公司".into(), None)],
                    ..ContactEdit::default()
                },
            },
        ),
        (
            "set-contact-state",
            Request::SetContactState {
                customer: CustomerId::Identified("crm-000042".into()),
                state: ContactState::Blacklisted,
            },
        ),
        (
            "delete-contacts",
            Request::DeleteContacts {
                customers: vec![
                    CustomerId::Identified("crm-000042".into()),
                    CustomerId::Visitor([3; 16]),
                ],
            },
        ),
        (
            "search-contacts",
            Request::SearchContacts(ContactQuery {
                text: "张 zh".into(),
                groups: vec![3],
                tags: vec![1, 2],
                owner: Some(1002),
                state: Some(ContactState::Stranger),
                last_contact: Some((1_767_225_600, 1_769_904_000)),
                sort: ContactSort::Name,
                offset: 20,
                limit: 20,
            }),
        ),
        (
            "recent-contacts",
            Request::RecentContacts {
                offset: 0,
                limit: 50,
            },
        ),
        (
            "contacts-online",
            Request::ContactsOnline {
                customers: vec![CustomerId::Identified("crm-000042".into())],
            },
        ),
        ("list-tags", Request::ListTags),
        (
            "edit-tags",
            Request::EditTags(TagEdit::Create {
                name: "VIP".into(),
                colour: 0xffd700,
            }),
        ),
        ("list-groups", Request::ListGroups),
        (
            "edit-groups",
            Request::EditGroups(GroupEdit::MoveGroup {
                id: 3,
                category: Some(1),
                position: 0,
            }),
        ),
        (
            "import-contacts",
            Request::ImportContacts {
                chunk: "id,real_name\ncrm-000042,张三\n".as_bytes().to_vec(),
                first: true,
                last: false,
            },
        ),
        (
            "export-contacts",
            Request::ExportContacts {
                after: 0,
                limit: 5_000,
            },
        ),
        (
            "history",
            Request::History(HistoryQuery {
                customer: CustomerId::Identified("crm-000042".into()),
                all_time: false,
                agent: Some(1002),
                kind: HistoryKind::Files,
                keyword: "发票".into(),
                before: Some(300),
                limit: 200,
            }),
        ),
        (
            "request-contact",
            Request::RequestContact {
                customer: CustomerId::Identified("kate@example.com".into()),
                note: "您好".into(),
            },
        ),
        (
            "answer-contact-request",
            Request::AnswerContactRequest { accept: false },
        ),
        (
            "add-account",
            Request::AddAccount {
                answer: "上海".into(),
            },
        ),
        ("get-contact-settings", Request::GetContactSettings),
        (
            "set-contact-settings",
            Request::SetContactSettings {
                settings: ContactSettings {
                    auto_friend_request: true,
                    question: "您在哪个城市？".into(),
                    answer: "上海".into(),
                },
            },
        ),
        ("list-quick-replies", Request::ListQuickReplies),
        (
            "set-quick-replies",
            Request::SetQuickReplies {
                shared: true,
                replies: vec![
                    QuickReply {
                        shortcut: "价格".into(),
                        text: "标准版每年 980 元。".into(),
                    },
                    QuickReply {
                        shortcut: "bye".into(),
                        text: "Thank you!\nGoodbye.".into(),
                    },
                ],
            },
        ),
        (
            "get-analytics",
            Request::GetAnalytics {
                from: 1_767_225_600,
                until: 1_769_904_000,
            },
        ),
        (
            "account-centre-ticket",
            Request::AccountCentreTicket {
                module: AccountCentreModule::ServiceConfig,
            },
        ),
        (
            "broadcast",
            Request::Broadcast {
                groups: vec![3, 4],
                customers: vec![
                    CustomerId::Identified("crm-000042".into()),
                    CustomerId::Visitor([3; 16]),
                ],
                body: MessageBody::Text("双十一大促".into()),
                otp: Some("012345".into()),
            },
        ),
        (
            "signal-typing",
            Request::Signal {
                conversation: 17,
                signal: Signal::TypingStarted,
            },
        ),
        (
            "signal-shake",
            Request::Signal {
                conversation: 17,
                signal: Signal::Shake,
            },
        ),
        (
            "signal-call-offer",
            Request::Signal {
                conversation: 17,
                signal: Signal::Call(CallSignal {
                    kind: CallKind::Video,
                    phase: CallPhase::Offer,
                    call: 300,
                    payload: b"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n".to_vec(),
                }),
            },
        ),
        (
            "set-account-presence-mode",
            Request::SetAccountPresenceMode {
                mode: AccountPresenceMode::AlwaysOnline,
            },
        ),
        ("get-account-presence", Request::GetAccountPresence),
        ("admin-clock-show", Request::AdminClockShow),
        (
            "admin-clock-set",
            Request::AdminClockSet {
                unix_ms: 1_798_243_200_000,
            },
        ),
        (
            "admin-clock-advance",
            Request::AdminClockAdvance { ms: 2_678_400_000 },
        ),
        ("enable-resume", Request::EnableResume),
        (
            "resume-session",
            Request::ResumeSession {
                token: kefu_wire::ResumeToken {
                    session: (1 << 48) | 7,
                    secret: [0xab; 32],
                },
                last_ack: 300,
            },
        ),
        ("get-server-time", Request::GetServerTime),
        ("admin-metrics", Request::AdminMetrics),
        ("admin-check-storage", Request::AdminCheckStorage),
        (
            "admin-delete-account",
            Request::AdminDeleteAccount { account: 800_001 },
        ),
        ("get-designated-agent", Request::GetDesignatedAgent),
        (
            "set-designated-agent",
            Request::SetDesignatedAgent {
                settings: kefu_wire::chat::DesignatedSettings {
                    mode: kefu_wire::chat::DesignatedMode::Groups,
                    hide_offline: true,
                    no_response: true,
                },
            },
        ),
        ("designated-choices", Request::DesignatedChoices),
        ("admin-backup-create", Request::AdminBackupCreate),
        ("admin-backup-list", Request::AdminBackupList),
        (
            "admin-backup-verify",
            Request::AdminBackupVerify { backup_id: 3 },
        ),
        ("mark-read", Request::MarkRead { conversation: 7 }),
        (
            "order-conversations",
            Request::OrderConversations {
                order: vec![9, 7, 8],
            },
        ),
        (
            "search-online-contacts",
            Request::SearchOnlineContacts(ContactQuery {
                text: String::new(),
                groups: vec![],
                tags: vec![],
                owner: None,
                state: None,
                last_contact: None,
                sort: ContactSort::LastContact,
                offset: 0,
                limit: 30,
            }),
        ),
        ("list-agent-groups", Request::ListAgentGroups),
        ("serving-agent", Request::ServingAgent),
        ("get-agent-prefs", Request::GetAgentPrefs),
        (
            "set-agent-prefs",
            Request::SetAgentPrefs {
                prefs: kefu_wire::prefs::AgentPrefs {
                    personal_auto_reply: "稍后回复".into(),
                    notify_own_additions: true,
                    notify_customer_added: false,
                },
            },
        ),
        ("get-reminder-settings", Request::GetReminderSettings),
        (
            "set-reminder-settings",
            Request::SetReminderSettings {
                settings: kefu_wire::prefs::ReminderSettings {
                    near_limit_percent: 80,
                },
            },
        ),
        ("get-idle-settings", Request::GetIdleSettings),
        (
            "set-idle-settings",
            Request::SetIdleSettings {
                settings: kefu_wire::automation::IdleSettings {
                    remind: true,
                    minutes: 5,
                    auto_reply: true,
                    text: "还在吗".into(),
                },
            },
        ),
        ("list-idle-conversations", Request::ListIdleConversations),
        (
            "send-internal",
            Request::SendInternal {
                to: 1002,
                client_msg_id: 1,
                text: "开会".into(),
            },
        ),
        (
            "internal-history",
            Request::InternalHistory {
                with: 1002,
                before: 0,
                limit: 50,
            },
        ),
        (
            "search-internal",
            Request::SearchInternal {
                with: None,
                text: "会".into(),
                limit: 20,
            },
        ),
        ("get-navigation-menu", Request::GetNavigationMenu),
        (
            "set-navigation-menu",
            Request::SetNavigationMenu {
                menu: navigation_menu(),
            },
        ),
        (
            "choose-menu-option",
            Request::ChooseMenuOption {
                conversation: 7,
                node: 1,
                option: 2,
            },
        ),
        ("get-menu-path", Request::GetMenuPath { conversation: 7 }),
        ("get-spam-filter", Request::GetSpamFilter),
        (
            "set-spam-filter",
            Request::SetSpamFilter {
                level: kefu_wire::spam::SpamLevel::Medium,
            },
        ),
        ("list-trash", Request::ListTrash),
        (
            "accept-from-trash",
            Request::AcceptFromTrash { conversation: 7 },
        ),
        (
            "mute-customer",
            Request::MuteCustomer {
                customer: CustomerId::Identified("u-10086".into()),
                muted: true,
            },
        ),
        ("list-muted", Request::ListMuted),
        (
            "forward-sms",
            Request::ForwardSms {
                conversation: 7,
                message: 12,
                agent: 1002,
            },
        ),
        (
            "admin-sms-top-up",
            Request::AdminSmsTopUp {
                account: 800_001,
                units: 100,
            },
        ),
        (
            "admin-sms-balance",
            Request::AdminSmsBalance { account: 800_001 },
        ),
        (
            "admin-sms-dead-letters",
            Request::AdminSmsDeadLetters { account: 800_001 },
        ),
        (
            "admin-sms-reply",
            Request::AdminSmsReply {
                account: 800_001,
                sms: 3,
                reply_id: 77,
                text: "好的".into(),
            },
        ),
        (
            "file-offer",
            Request::FileOffer {
                to: kefu_wire::files::FilePeer::Conversation(7),
                meta: file_meta(),
            },
        ),
        (
            "file-answer",
            Request::FileAnswer {
                transfer: 5,
                accept: true,
                credit: 131_072,
            },
        ),
        (
            "file-credit",
            Request::FileCredit {
                transfer: 5,
                bytes: 65_536,
            },
        ),
        (
            "file-chunk",
            Request::FileChunk {
                transfer: 5,
                offset: 0,
                data: b"abc".to_vec(),
            },
        ),
        ("file-cancel", Request::FileCancel { transfer: 5 }),
        (
            "upload-file",
            Request::UploadFile {
                to: kefu_wire::files::FilePeer::Agent(1002),
                meta: file_meta(),
            },
        ),
        (
            "upload-chunk",
            Request::UploadChunk {
                upload: 6,
                offset: 0,
                data: b"abc".to_vec(),
            },
        ),
        ("finish-upload", Request::FinishUpload { upload: 6 }),
        ("list-offline-files", Request::ListOfflineFiles),
        ("fetch-file", Request::FetchFile { token: [0x11; 32] }),
        (
            "fetch-chunk",
            Request::FetchChunk {
                fetch: 8,
                offset: 0,
                max: 65_536,
            },
        ),
        (
            "admin-balance-top-up",
            Request::AdminBalanceTopUp {
                account: 800_001,
                units: 1_000,
            },
        ),
        (
            "admin-balance-show",
            Request::AdminBalanceShow { account: 800_001 },
        ),
        (
            "get-balance",
            Request::GetBalance {
                otp: Some("123456".into()),
            },
        ),
        (
            "submit-broadcast",
            Request::SubmitBroadcast {
                draft: broadcast_draft(),
                otp: Some("123456".into()),
            },
        ),
        (
            "cancel-broadcast",
            Request::CancelBroadcast { id: 1, otp: None },
        ),
        (
            "resubmit-broadcast",
            Request::ResubmitBroadcast {
                id: 1,
                draft: broadcast_draft(),
                otp: None,
            },
        ),
        ("list-broadcasts", Request::ListBroadcasts { otp: None }),
        (
            "admin-broadcast-review-list",
            Request::AdminBroadcastReviewList { account: 800_001 },
        ),
        (
            "admin-broadcast-decide",
            Request::AdminBroadcastDecide {
                account: 800_001,
                id: 1,
                approve: false,
                reason: "虚假信息".into(),
            },
        ),
        (
            "admin-set-sensitive-words",
            Request::AdminSetSensitiveWords {
                words: vec!["发票".into(), "赌博".into()],
            },
        ),
        ("get-csat-settings", Request::GetCsatSettings),
        (
            "set-csat-settings",
            Request::SetCsatSettings(csat_settings()),
        ),
        (
            "rate-conversation",
            Request::RateConversation {
                conversation: 7,
                rating: 2,
                reasons: vec![0],
                text: "回复太慢".into(),
            },
        ),
        (
            "csat-report",
            Request::CsatReport(kefu_wire::csat::CsatQuery {
                from: Some(20_788),
                to: Some(20_794),
                detail: true,
                after: None,
            }),
        ),
        (
            "list-broadcast-page",
            Request::ListBroadcastPage {
                before: Some(9),
                limit: 50,
                otp: None,
            },
        ),
        (
            "get-broadcast-customers",
            Request::GetBroadcastCustomers {
                id: 2,
                offset: 1_000,
                limit: 1_000,
                otp: Some("123456".into()),
            },
        ),
        (
            "admin-broadcast-review-queue",
            Request::AdminBroadcastReviewQueue {
                after: Some(review_cursor()),
                limit: 50,
            },
        ),
        (
            "centre-login",
            Request::CentreLogin {
                account: 800_001,
                agent: 1001,
                password: "secret".into(),
                otp: Some("123456".into()),
            },
        ),
        (
            "centre-ticket-login",
            Request::CentreTicketLogin {
                ticket: vec![1; 54],
            },
        ),
        (
            "set-allowed-origins",
            Request::SetAllowedOrigins {
                origins: vec!["https://shop.example.com".into()],
            },
        ),
        ("get-allowed-origins", Request::GetAllowedOrigins),
        ("get-enterprise-profile", Request::GetEnterpriseProfile),
        (
            "submit-enterprise-profile",
            Request::SubmitEnterpriseProfile {
                profile: enterprise_profile(),
            },
        ),
        ("get-chat-window-style", Request::GetChatWindowStyle),
        (
            "submit-chat-window-style",
            Request::SubmitChatWindowStyle {
                style: window_style(),
            },
        ),
        ("get-window-style", Request::GetWindowStyle),
        (
            "admin-profile-review-queue",
            Request::AdminProfileReviewQueue {
                after: Some(kefu_wire::profile::ProfileReviewCursor {
                    submitted_at: 1_000,
                    account: 800_001,
                    kind: kefu_wire::profile::ReviewKind::Style,
                }),
                limit: 20,
            },
        ),
        (
            "admin-freeze-account",
            Request::AdminFreezeAccount {
                account: 800_001,
                frozen: true,
            },
        ),
        (
            "admin-export-account",
            Request::AdminExportAccount {
                account: 800_001,
                after: Some(kefu_wire::account_move::AccountCursor {
                    cf: "messages".into(),
                    key: vec![0, 0, 0, 0, 0, 12, 53, 1],
                }),
            },
        ),
        (
            "admin-import-account",
            Request::AdminImportAccount {
                account: 800_001,
                entries: vec![account_entry()],
                first: true,
            },
        ),
        (
            "admin-account-moved",
            Request::AdminAccountMoved {
                account: 800_001,
                address: "127.0.0.3:7070".into(),
            },
        ),
        (
            "admin-review-profile",
            Request::AdminReviewProfile {
                account: 800_001,
                kind: kefu_wire::profile::ReviewKind::Profile,
                approve: false,
                reason: "资料不符".into(),
            },
        ),
        (
            "preview-broadcast",
            Request::PreviewBroadcast {
                draft: broadcast_draft(),
                otp: Some("123456".into()),
            },
        ),
        (
            "submit-survey-broadcast",
            Request::SubmitSurveyBroadcast {
                survey: 1,
                draft: broadcast_draft(),
                otp: None,
            },
        ),
        (
            "preview-survey-broadcast",
            Request::PreviewSurveyBroadcast {
                survey: 1,
                draft: broadcast_draft(),
                otp: Some("123456".into()),
            },
        ),
        (
            "get-work-report",
            Request::GetWorkReport {
                from: report_day(),
                to: report_day(),
                agent: Some(1002),
            },
        ),
        (
            "create-survey",
            Request::CreateSurvey {
                draft: survey_draft(),
                otp: Some("123456".into()),
            },
        ),
        (
            "reply-to-broadcast",
            Request::ReplyToBroadcast {
                broadcast: 2,
                entry: Entry::Group("售后".into()),
            },
        ),
        (
            "edit-survey",
            Request::EditSurvey {
                id: 1,
                draft: survey_draft(),
                otp: None,
            },
        ),
        ("close-survey", Request::CloseSurvey { id: 1, otp: None }),
        ("list-surveys", Request::ListSurveys { otp: None }),
        (
            "get-survey-result",
            Request::GetSurveyResult { id: 1, otp: None },
        ),
        ("list-open-surveys", Request::ListOpenSurveys),
        (
            "answer-survey",
            Request::AnswerSurvey {
                survey: 1,
                choices: vec![vec![0], vec![0, 2]],
            },
        ),
        (
            "export-report",
            Request::ExportReport {
                report: kefu_wire::reports::ReportKind::WorkReport {
                    from: report_day(),
                    to: report_day(),
                    agent: None,
                },
                format: kefu_wire::reports::ExportFormat::Xlsx,
                otp: None,
            },
        ),
        (
            "export-survey-answers",
            Request::ExportReport {
                report: kefu_wire::reports::ReportKind::SurveyAnswers { survey: 1 },
                format: kefu_wire::reports::ExportFormat::Csv,
                otp: Some("123456".into()),
            },
        ),
        (
            "export-chunk",
            Request::ExportChunk {
                export: 1,
                index: 1,
            },
        ),
        (
            "request-contact-filed",
            Request::RequestContactFiled {
                customer: CustomerId::Identified("u-10086".into()),
                note: "您好".into(),
                edit: ContactEdit {
                    nickname: Some("凯特".into()),
                    groups: Some(vec![3]),
                    ..ContactEdit::default()
                },
            },
        ),
        (
            "get-contact-owners",
            Request::GetContactOwners {
                customer: CustomerId::Identified("u-10086".into()),
            },
        ),
        (
            "set-routing-settings",
            Request::SetRoutingSettings {
                settings: kefu_wire::chat::RoutingConfig {
                    exclusive: true,
                    no_response_secs: 900,
                    no_response_warn_secs: 60,
                    transfer_timeout_secs: 120,
                    utc_offset_minutes: 480,
                    welcome: vec![kefu_wire::chat::WelcomeRule {
                        weekdays: 0b110_0000,
                        start_minute: 0,
                        end_minute: 1440,
                        text: "周末您好".into(),
                    }],
                    busy_reply: None,
                    away_reply: Some("稍后回复".into()),
                },
            },
        ),
    ];
    all.extend(web_request_seeds());
    all
}

/// The web channel's requests (sections 31–33).
fn web_request_seeds() -> Vec<(&'static str, Request)> {
    use kefu_wire::web::{AutoInviteSettings, PageView};
    vec![
        ("list-entry-codes", Request::ListEntryCodes),
        (
            "create-entry-code",
            Request::CreateEntryCode {
                draft: code_draft(),
            },
        ),
        (
            "edit-entry-code",
            Request::EditEntryCode {
                id: 2,
                draft: code_draft(),
            },
        ),
        ("delete-entry-code", Request::DeleteEntryCode { id: 2 }),
        ("get-entry-code", Request::GetEntryCode { id: 2 }),
        (
            "open-conversation-by-code",
            Request::OpenConversationByCode { id: 2 },
        ),
        (
            "page-view",
            Request::PageView(PageView {
                url: "https://a.cn/p".into(),
                title: "价格".into(),
                referrer: "https://www.baidu.com/s?wd=%E5%AE%A2%E6%9C%8D".into(),
            }),
        ),
        ("page-left", Request::PageLeft),
        ("list-site-visitors", Request::ListSiteVisitors),
        (
            "get-visitor-trail",
            Request::GetVisitorTrail {
                visitor: CustomerId::Visitor([7; 16]),
            },
        ),
        (
            "invite-visitor",
            Request::InviteVisitor {
                visitor: CustomerId::Visitor([7; 16]),
                text: "您好".into(),
            },
        ),
        (
            "answer-invitation",
            Request::AnswerInvitation {
                invitation: 3,
                accept: true,
            },
        ),
        ("get-auto-invite", Request::GetAutoInvite),
        (
            "set-auto-invite",
            Request::SetAutoInvite {
                settings: AutoInviteSettings {
                    enabled: true,
                    after_secs: 30,
                    text: "您好".into(),
                },
            },
        ),
        (
            "get-visit-trend",
            Request::GetVisitTrend {
                from_day: 20_454,
                until_day: 20_460,
            },
        ),
        (
            "get-site-analytics",
            Request::GetSiteAnalytics {
                from_day: 20_454,
                until_day: 20_460,
            },
        ),
    ]
}

fn code_draft() -> kefu_wire::web::EntryCodeDraft {
    kefu_wire::web::EntryCodeDraft {
        description: "首页".into(),
        kind: kefu_wire::web::CodeKind::Floating,
        routing: Entry::Group("售后".into()),
        site_url: "https://a.cn/".into(),
        style: "A-03".into(),
        anonymous: true,
    }
}

fn site_visitor() -> kefu_wire::web::SiteVisitor {
    kefu_wire::web::SiteVisitor {
        visitor: CustomerId::Visitor([7; 16]),
        arrived_at: 1_800_000_000_000,
        url: "https://a.cn/".into(),
        title: "首页".into(),
        keywords: Some("客服".into()),
        pages: 2,
        accepted_invitation: false,
        region: None,
    }
}

/// The web channel's responses (sections 31–33).
fn web_response_seeds() -> Vec<(&'static str, Response)> {
    use kefu_wire::web::{
        AutoInviteSettings, CodeKind, EntryCode, NamedCount, PageVisit, PublicEntryCode,
        SiteAnalytics, VisitDay, VisitorTrail,
    };
    let code = EntryCode {
        id: 2,
        draft: code_draft(),
        created_at: 1_800_000_000_000,
        edited_at: 1_800_000_000_001,
    };
    let day = VisitDay {
        day: 20_454,
        visits: 4,
        unique_visitors: 2,
        page_views: 6,
        consultations: 1,
    };
    vec![
        ("entry-codes", Response::EntryCodes(vec![code.clone()])),
        ("entry-code", Response::EntryCode(code)),
        (
            "public-entry-code",
            Response::PublicEntryCode(PublicEntryCode {
                id: 2,
                kind: CodeKind::Fixed,
                style: "A-03".into(),
                anonymous: true,
            }),
        ),
        (
            "site-visitors",
            Response::SiteVisitors(vec![site_visitor()]),
        ),
        (
            "visitor-trail",
            Response::VisitorTrail(VisitorTrail {
                visitor: CustomerId::Visitor([7; 16]),
                pages: vec![PageVisit {
                    url: "https://a.cn/".into(),
                    title: "首页".into(),
                    referrer: String::new(),
                    at: 1_800_000_000_000,
                    dwell_ms: Some(5_000),
                }],
                keywords: vec!["客服".into()],
                menu_path: vec!["售前".into()],
                region: None,
            }),
        ),
        ("invited", Response::Invited { invitation: 3 }),
        (
            "auto-invite-settings",
            Response::AutoInviteSettings(AutoInviteSettings::default()),
        ),
        ("visit-trend", Response::VisitTrend(vec![day.clone()])),
        (
            "site-analytics",
            Response::SiteAnalytics(SiteAnalytics {
                days: vec![day],
                referrers: vec![NamedCount {
                    name: "baidu.com".into(),
                    count: 2,
                }],
                regions: vec![],
            }),
        ),
    ]
}

fn response_seeds() -> Vec<(&'static str, Response)> {
    let mut all = vec![
        ("ok", Response::Ok),
        ("logged-in", Response::LoggedIn(session())),
        (
            "session",
            Response::Session(SessionInfo {
                token: [0; 16],
                ..session()
            }),
        ),
        (
            "agents",
            Response::Agents(vec![
                agent(1001, Presence::Online),
                agent(1002, Presence::Away),
                agent(1003, Presence::Offline),
            ]),
        ),
        ("accounts", Response::Accounts(vec![account(), account()])),
        ("account", Response::Account(account())),
        (
            "stats",
            Response::Stats {
                uptime_s: 86_400,
                shards: vec![ShardStats {
                    shard: 0,
                    connections: 10,
                    sessions: 8,
                    accounts: 2,
                    frames_in: 1 << 40,
                    frames_out: 300,
                }],
            },
        ),
        ("roles", Response::Roles(vec![role(1), role(4)])),
        ("role", Response::Role(role(5))),
        (
            "profile",
            Response::Profile(AgentProfile {
                nickname: "agent 1001".into(),
                group: String::new(),
                display: DisplayMode::Nickname,
                phone: String::new(),
            }),
        ),
        (
            "security",
            Response::Security(SecurityInfo {
                level: SecurityLevel::Medium,
                token_serial: Some("FT-0001".into()),
            }),
        ),
        (
            "tokens-imported",
            Response::TokensImported {
                serials: vec!["FT-0001".into(), "FT-0002".into()],
            },
        ),
        (
            "customer-logged-in",
            Response::CustomerLoggedIn(CustomerSession {
                account: 800_001,
                customer: CustomerId::Identified("crm-000042".into()),
                visitor_token: None,
                conversation: Some(conversation(ConversationState::Assigned { agent: 1002 })),
            }),
        ),
        (
            "customer-logged-in-visitor",
            Response::CustomerLoggedIn(CustomerSession {
                account: 800_001,
                customer: CustomerId::Visitor([0x3c; 16]),
                visitor_token: Some([0x3c; 32]),
                conversation: None,
            }),
        ),
        (
            "conversation",
            Response::Conversation(conversation(ConversationState::Queued {
                target: Some(1002),
            })),
        ),
        (
            "conversations",
            Response::Conversations(vec![
                conversation(ConversationState::Queued { target: None }),
                conversation(ConversationState::Assigned { agent: 1003 }),
            ]),
        ),
        (
            "sent",
            Response::Sent {
                message: 300,
                duplicate: true,
            },
        ),
        (
            "accepted",
            Response::Accepted {
                conversation: conversation(ConversationState::Assigned { agent: 1002 }),
                history: vec![
                    message(298, Party::System, MessageBody::Text("welcome".into())),
                    message(
                        299,
                        Party::Customer,
                        MessageBody::Image {
                            reference: "img/ab12cd".into(),
                        },
                    ),
                    message(
                        300,
                        Party::Agent(1002),
                        MessageBody::File {
                            reference: "f/9c1e".into(),
                            name: "发票.pdf".into(),
                            size: 0,
                        },
                    ),
                ],
            },
        ),
        ("customer-key", Response::CustomerKey([0xa5; 32])),
        ("messages", Response::Messages(Vec::new())),
        (
            "routing-settings",
            Response::RoutingSettings(kefu_wire::chat::RoutingConfig {
                exclusive: true,
                no_response_secs: 900,
                no_response_warn_secs: 60,
                transfer_timeout_secs: 120,
                utc_offset_minutes: 480,
                welcome: vec![kefu_wire::chat::WelcomeRule {
                    weekdays: 0b110_0000,
                    start_minute: 0,
                    end_minute: 1440,
                    text: "周末您好".into(),
                }],
                busy_reply: None,
                away_reply: Some("稍后回复".into()),
            }),
        ),
        ("contact", Response::Contact(Box::new(contact()))),
        (
            "contacts",
            Response::Contacts(ContactPage {
                total: 301,
                contacts: vec![contact(), contact()],
            }),
        ),
        ("deleted", Response::Deleted { count: 2 }),
        ("online", Response::Online(vec![true, false, false])),
        (
            "tags",
            Response::Tags(vec![TagInfo {
                id: 1,
                name: "重要客户".into(),
                colour: 0xe53935,
            }]),
        ),
        (
            "groups",
            Response::Groups(vec![
                GroupNode::Category {
                    id: 1,
                    name: "客户".into(),
                    groups: vec![GroupInfo {
                        id: 3,
                        name: "上海".into(),
                    }],
                },
                GroupNode::Group(GroupInfo {
                    id: 4,
                    name: "同行".into(),
                }),
            ]),
        ),
        (
            "import",
            Response::Import(ImportReport {
                imported: 9_000,
                skipped_existing: 12,
                refused_plan: 0,
                refused_daily: 988,
                invalid: vec![InvalidRow {
                    line: 17,
                    reason: "id: empty".into(),
                }],
                invalid_total: 1,
                finished: true,
            }),
        ),
        (
            "export",
            Response::Export {
                csv: "id,real_name\ncrm-000042,张三\n".as_bytes().to_vec(),
                next_after: None,
            },
        ),
        (
            "history",
            Response::History(HistoryPage {
                messages: vec![message(
                    300,
                    Party::Agent(1002),
                    MessageBody::Image {
                        reference: "img/ab12cd".into(),
                    },
                )],
                next_before: Some(300),
            }),
        ),
        (
            "contact-settings",
            Response::ContactSettings(ContactSettings::default()),
        ),
        (
            "quick-replies",
            Response::QuickReplies {
                personal: vec![QuickReply {
                    shortcut: "hi".into(),
                    text: "您好！".into(),
                }],
                shared: vec![],
            },
        ),
        (
            "analytics",
            Response::Analytics(vec![AgentFigures {
                agent: 1002,
                conversations: 130,
                messages_sent: 2_450,
                messages_received: 3_001,
            }]),
        ),
        (
            "ticket",
            Response::Ticket {
                ticket: vec![0x5a; 54],
                expires_at: 1_767_225_900,
            },
        ),
        (
            "broadcast-sent",
            Response::BroadcastSent { recipients: 10_000 },
        ),
        (
            "account-presence",
            Response::AccountPresence {
                presence: Presence::Away,
                mode: Some(AccountPresenceMode::FromAgents),
            },
        ),
        (
            "clock",
            Response::Clock {
                unix_ms: 1_798_243_200_000,
                test_mode: true,
            },
        ),
        (
            "resume-enabled",
            Response::ResumeEnabled {
                token: kefu_wire::ResumeToken {
                    session: (1 << 48) | 7,
                    secret: [0xab; 32],
                },
                window_secs: 60,
            },
        ),
        ("resumed", Response::Resumed { replayed: 3 }),
        (
            "metrics",
            Response::Metrics {
                text: "kefu_connections 3\n".to_string(),
            },
        ),
        (
            "storage-check",
            Response::StorageCheck(kefu_wire::StorageCheck {
                data_dir: "/var/lib/kefu".to_string(),
                writable: true,
                error: String::new(),
                synced_write_us: 1_500,
                free_bytes: 1 << 30,
                total_bytes: 1 << 34,
                disk_full: false,
            }),
        ),
        (
            "account-deleted",
            Response::AccountDeleted {
                sessions_closed: 2,
                tokens_removed: 1,
            },
        ),
        (
            "designated-agent",
            Response::DesignatedAgent(kefu_wire::chat::DesignatedSettings {
                mode: kefu_wire::chat::DesignatedMode::Agents,
                hide_offline: true,
                no_response: true,
            }),
        ),
        (
            "choices",
            Response::Choices(kefu_wire::chat::ChoiceList {
                agents: vec![kefu_wire::chat::AgentChoice {
                    agent: 1001,
                    name: "销售小王".into(),
                    presence: kefu_wire::Presence::Online,
                }],
                groups: vec![],
                previous: None,
            }),
        ),
        ("backup", Response::Backup(backup_info(Some(1_234)))),
        ("backups", Response::Backups(vec![backup_info(None)])),
        (
            "agent-groups",
            Response::AgentGroups(vec![
                kefu_wire::AgentGroup {
                    name: "售前".into(),
                    agents: vec![agent(1002, Presence::Online)],
                },
                kefu_wire::AgentGroup {
                    name: String::new(),
                    agents: vec![agent(1001, Presence::Away)],
                },
            ]),
        ),
        (
            "serving-agent",
            Response::ServingAgent(Some(kefu_wire::ShownAgent {
                agent: 1002,
                shown_as: "小王".into(),
            })),
        ),
        (
            "agent-prefs",
            Response::AgentPrefs(kefu_wire::prefs::AgentPrefs::default()),
        ),
        (
            "reminder-settings",
            Response::ReminderSettings(kefu_wire::prefs::ReminderSettings::default()),
        ),
        (
            "contact-owners",
            Response::ContactOwners {
                owner: Some(1001),
                exclusive_owner: Some(1002),
            },
        ),
        (
            "idle-settings",
            Response::IdleSettings(kefu_wire::automation::IdleSettings::default()),
        ),
        (
            "idle-conversations",
            Response::IdleConversations(vec![idle_info()]),
        ),
        (
            "internal-messages",
            Response::InternalMessages(vec![internal_message()]),
        ),
        (
            "navigation-menu",
            Response::NavigationMenu(navigation_menu()),
        ),
        (
            "menu-step-routed",
            Response::MenuStep(kefu_wire::menu::MenuStep::Routed(conversation(
                ConversationState::InMenu,
            ))),
        ),
        (
            "menu-step-prompt",
            Response::MenuStep(kefu_wire::menu::MenuStep::Prompt(menu_prompt())),
        ),
        ("menu-path", Response::MenuPath(menu_path())),
        (
            "spam-filter",
            Response::SpamFilter(kefu_wire::spam::SpamLevel::High),
        ),
        ("muted", Response::Muted(vec![CustomerId::Visitor([7; 16])])),
        (
            "sms-queued",
            Response::SmsQueued {
                sms: 3,
                segments: 2,
                duplicate: false,
            },
        ),
        (
            "sms-balance",
            Response::SmsBalance(kefu_wire::sms::SmsBalance {
                units: 97,
                reserved: 2,
                spent: 1,
                refunded: 0,
                failed_attempts: 4,
            }),
        ),
        (
            "sms-dead-letters",
            Response::SmsDeadLetters(vec![kefu_wire::sms::SmsDeadLetter {
                sms: 3,
                conversation: 7,
                customer: CustomerId::Identified("u-10086".into()),
                agent: 1002,
                phone: "+86 1".into(),
                text: "在吗".into(),
                segments: 1,
                attempts: 5,
                last_error: "500".into(),
                queued_at: 1_800_000_000_000,
                dead_at: 1_800_000_060_000,
            }]),
        ),
        ("file-transfer", Response::FileTransfer { transfer: 5 }),
        (
            "upload",
            Response::Upload {
                upload: 6,
                offset: 65_536,
            },
        ),
        (
            "offline-file-stored",
            Response::OfflineFileStored { file: 3 },
        ),
        (
            "offline-files",
            Response::OfflineFiles(vec![offline_file()]),
        ),
        (
            "fetch",
            Response::Fetch {
                fetch: 8,
                file: offline_file(),
            },
        ),
        (
            "file-data",
            Response::FileData {
                offset: 0,
                data: b"abc".to_vec(),
            },
        ),
        (
            "balance",
            Response::Balance(kefu_wire::valueadded::BalanceInfo {
                available: 991,
                reserved: 6,
                topped_up: 1_000,
                settled: 3,
                refunded: 3,
                points: 3,
            }),
        ),
        ("broadcast", Response::Broadcast(Box::new(broadcast_info()))),
        ("broadcasts", Response::Broadcasts(vec![broadcast_info()])),
        (
            "work-report",
            Response::WorkReport(vec![kefu_wire::reports::WorkReportRow {
                date: report_day(),
                agent: 1001,
                conversations: 3,
                customers: 2,
            }]),
        ),
        ("survey", Response::Survey(Box::new(survey_info()))),
        ("surveys", Response::Surveys(vec![survey_info()])),
        (
            "survey-result",
            Response::SurveyResult(Box::new(kefu_wire::survey::SurveyResult {
                survey: survey_info(),
                counts: vec![vec![1, 1, 0], vec![1, 0, 2]],
                ratios: vec![vec![5_000, 5_000, 0], vec![5_000, 0, 10_000]],
            })),
        ),
        (
            "survey-forms",
            Response::SurveyForms(vec![kefu_wire::survey::SurveyForm {
                id: 1,
                title: "服务调查".into(),
                background: "谢谢".into(),
                questions: survey_draft().questions,
            }]),
        ),
        (
            "export-data",
            Response::ExportData(kefu_wire::reports::ExportChunk {
                export: 1,
                index: 0,
                total: 2,
                size: 65_540,
                data: b"\xef\xbb\xbfa,b\r\n".to_vec(),
                last: false,
            }),
        ),
        ("csat-settings", Response::CsatSettings(csat_settings())),
        (
            "allowed-origins",
            Response::AllowedOrigins(kefu_wire::web::AllowedOrigins {
                explicit: vec!["https://shop.example.com".into()],
                from_codes: vec!["http://127.0.0.1:8080".into()],
            }),
        ),
        (
            "csat-report",
            Response::CsatReport(kefu_wire::csat::CsatReportPage {
                from: 20_788,
                to: 20_794,
                lines: vec![kefu_wire::csat::CsatAgentLine {
                    agent: 1002,
                    counts: [1, 0, 2, 0, 5],
                }],
                detail: vec![kefu_wire::csat::CsatRating {
                    day: 20_794,
                    at: 1_800_000_000_000,
                    customer: CustomerId::Identified("u-10086".into()),
                    agent: 1002,
                    conversation: 7,
                    rating: 1,
                    reasons: vec!["回复太慢".into()],
                    text: "差".into(),
                }],
                next: Some(vec![1, 2, 3]),
            }),
        ),
        (
            "broadcast-page",
            Response::BroadcastPage(kefu_wire::valueadded::BroadcastPage {
                items: vec![broadcast_summary()],
                next: Some(1),
            }),
        ),
        (
            "broadcast-customers",
            Response::BroadcastCustomers(kefu_wire::valueadded::BroadcastCustomers {
                total: 50_000,
                customers: vec![CustomerId::Identified("u-10086".into())],
                next: Some(1_001),
            }),
        ),
        (
            "broadcast-reviews",
            Response::BroadcastReviews(kefu_wire::valueadded::ReviewPage {
                items: vec![kefu_wire::valueadded::BroadcastReview {
                    account: 800_001,
                    summary: broadcast_summary(),
                }],
                next: Some(review_cursor()),
            }),
        ),
        (
            "enterprise-profile",
            Response::EnterpriseProfile(Box::new(kefu_wire::profile::Reviewed {
                current: Some(enterprise_profile()),
                pending: Some(kefu_wire::profile::Submitted {
                    edit: enterprise_profile(),
                    at: 1_000,
                }),
                rejected: None,
            })),
        ),
        (
            "chat-window-style",
            Response::ChatWindowStyle(Box::new(kefu_wire::profile::Reviewed {
                current: None,
                pending: None,
                rejected: Some(kefu_wire::profile::Rejected {
                    edit: window_style(),
                    reason: "链接不符".into(),
                    at: 2_000,
                }),
            })),
        ),
        ("window-style", Response::WindowStyle(Some(window_style()))),
        (
            "account-export",
            Response::AccountExport(kefu_wire::account_move::AccountExport {
                pair: "pair-b".into(),
                entries: vec![account_entry()],
                next: None,
            }),
        ),
        (
            "profile-reviews",
            Response::ProfileReviews(kefu_wire::profile::ProfileReviewPage {
                items: vec![kefu_wire::profile::ProfileReview {
                    account: 800_001,
                    submitted_at: 1_000,
                    subject: kefu_wire::profile::ReviewSubject::Profile(enterprise_profile()),
                }],
                next: None,
            }),
        ),
    ];
    all.extend(web_response_seeds());
    all
}

fn event_seeds() -> Vec<(&'static str, Push)> {
    let all = vec![
        (
            "presence-changed",
            Push {
                seq: 1,
                event: Event::PresenceChanged {
                    agent: 1002,
                    presence: Presence::Online,
                },
            },
        ),
        (
            "presence-changes",
            Push {
                seq: 2,
                event: Event::PresenceChanges(vec![
                    PresenceChange {
                        agent: 1002,
                        presence: Presence::Busy,
                    },
                    PresenceChange {
                        agent: 1003,
                        presence: Presence::Offline,
                    },
                ]),
            },
        ),
        (
            "notice",
            Push {
                seq: u64::MAX,
                event: Event::Notice {
                    text: "The account expires in 30 days.".into(),
                },
            },
        ),
        (
            "message",
            Push {
                seq: 3,
                event: Event::Message(message(
                    301,
                    Party::Customer,
                    MessageBody::Text("在吗？".into()),
                )),
            },
        ),
        (
            "conversation-changed",
            Push {
                seq: 4,
                event: Event::ConversationChanged(conversation(ConversationState::Closed)),
            },
        ),
        (
            "conversation-alert",
            Push {
                seq: 5,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: kefu_wire::chat::Alert::ChooseAgain {
                        agents: vec![(1002, Presence::Away)],
                        groups: vec!["sales".into()],
                    },
                },
            },
        ),
        (
            "conversation-alert-nobody-online",
            Push {
                seq: 7,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: kefu_wire::chat::Alert::NobodyOnline {
                        phones: vec![kefu_wire::ShownAgent {
                            agent: 1002,
                            shown_as: "小张".into(),
                        }],
                    },
                },
            },
        ),
        (
            "contact-notice",
            Push {
                seq: 6,
                event: Event::ContactNotice(ContactNotice::FriendRequest {
                    account: 800_001,
                    note: "您好".into(),
                }),
            },
        ),
        (
            "signal",
            Push {
                seq: 7,
                event: Event::Signal {
                    conversation: 17,
                    from: Party::Agent(1002),
                    signal: Signal::Call(CallSignal {
                        kind: CallKind::RemoteAssist,
                        phase: CallPhase::IceCandidate,
                        call: 300,
                        payload: vec![0, 1, 2, 0xff],
                    }),
                },
            },
        ),
        (
            "account-presence-changed",
            Push {
                seq: 8,
                event: Event::AccountPresenceChanged {
                    presence: Presence::Online,
                },
            },
        ),
        (
            "idle-changed",
            Push {
                seq: 9,
                event: Event::IdleChanged(idle_info()),
            },
        ),
        (
            "internal-message",
            Push {
                seq: 10,
                event: Event::InternalMessage(internal_message()),
            },
        ),
        (
            "menu-shown",
            Push {
                seq: 11,
                event: Event::MenuShown(menu_prompt()),
            },
        ),
        (
            "menu-path",
            Push {
                seq: 12,
                event: Event::MenuPath(menu_path()),
            },
        ),
        (
            "quiet-message",
            Push {
                seq: 13,
                event: Event::QuietMessage(MessageInfo {
                    conversation: 7,
                    id: 301,
                    from: Party::Customer,
                    at: 1_800_000_000_000,
                    body: MessageBody::Text("在吗".into()),
                }),
            },
        ),
        (
            "file-offered",
            Push {
                seq: 14,
                event: Event::FileOffered {
                    transfer: 5,
                    from: Party::Customer,
                    conversation: Some(7),
                    meta: file_meta(),
                },
            },
        ),
        (
            "file-credit",
            Push {
                seq: 15,
                event: Event::FileCredit {
                    transfer: 5,
                    window_end: 131_072,
                },
            },
        ),
        (
            "file-chunk",
            Push {
                seq: 16,
                event: Event::FileChunk {
                    transfer: 5,
                    offset: 0,
                    data: b"abc".to_vec(),
                },
            },
        ),
        (
            "file-ended",
            Push {
                seq: 17,
                event: Event::FileEnded {
                    transfer: 5,
                    reason: kefu_wire::files::FileEnd::Cancelled,
                },
            },
        ),
        (
            "offline-file",
            Push {
                seq: 18,
                event: Event::OfflineFile(offline_file()),
            },
        ),
        (
            "from-broadcast",
            Push {
                seq: 19,
                event: Event::FromBroadcast {
                    broadcast: 2,
                    message: 900,
                    replies_blocked: true,
                },
            },
        ),
        (
            "broadcast-preview",
            Push {
                seq: 20,
                event: Event::BroadcastPreview {
                    from: 1002,
                    body: MessageBody::Text("双十一大促".into()),
                },
            },
        ),
        (
            "invitation",
            Push {
                seq: 19,
                event: Event::Invitation(kefu_wire::web::Invitation {
                    invitation: 3,
                    agent: 1002,
                    text: "您好".into(),
                    automatic: false,
                }),
            },
        ),
        (
            "visitor-arrived",
            Push {
                seq: 20,
                event: Event::VisitorArrived(site_visitor()),
            },
        ),
        (
            "csat-survey",
            Push {
                seq: 19,
                event: Event::CsatSurvey(kefu_wire::csat::CsatSurvey {
                    conversation: 7,
                    style: kefu_wire::csat::CsatStyle::Words,
                    labels: kefu_wire::csat::CsatStyle::Words
                        .labels()
                        .iter()
                        .map(|l| (*l).to_owned())
                        .collect(),
                    reasons: vec!["回复太慢".into()],
                }),
            },
        ),
        (
            "survey-broadcast",
            Push {
                seq: 21,
                event: Event::SurveyBroadcast {
                    broadcast: 3,
                    form: kefu_wire::survey::SurveyForm {
                        id: 1,
                        title: "服务调查".into(),
                        background: "谢谢".into(),
                        questions: survey_draft().questions,
                    },
                },
            },
        ),
    ];
    all
}

fn csat_settings() -> kefu_wire::csat::CsatSettings {
    kefu_wire::csat::CsatSettings {
        enabled: true,
        style: kefu_wire::csat::CsatStyle::Stars,
        reasons_enabled: true,
        reasons: vec!["回复太慢".into(), "没有解决问题".into()],
        subscribers: vec!["boss@example.com".into()],
    }
}

fn navigation_menu() -> kefu_wire::menu::NavigationMenu {
    use kefu_wire::menu::{MenuAction, MenuNode, MenuOption, NavigationMenu};
    let opt = |label: &str, action| MenuOption {
        label: label.into(),
        action,
    };
    NavigationMenu {
        enabled: true,
        nodes: vec![
            MenuNode {
                prompt: "请选择您需要的服务".into(),
                options: vec![
                    opt("官网", MenuAction::OpenUrl("https://example.com/".into())),
                    opt("营业时间", MenuAction::AutoReply("9:00-18:00".into())),
                    opt("人工服务", MenuAction::HumanService),
                    opt("售前咨询", MenuAction::SubMenu(1)),
                ],
            },
            MenuNode {
                prompt: "请选择产品".into(),
                options: vec![
                    opt("找 1001", MenuAction::ToAgent(1001)),
                    opt("销售组", MenuAction::ToGroup("sales".into())),
                ],
            },
        ],
    }
}

fn menu_prompt() -> kefu_wire::menu::MenuPrompt {
    kefu_wire::menu::MenuPrompt {
        conversation: 7,
        node: 1,
        prompt: "请选择产品".into(),
        options: vec!["找 1001".into(), "销售组".into()],
    }
}

fn menu_path() -> kefu_wire::menu::MenuPath {
    kefu_wire::menu::MenuPath {
        conversation: 7,
        labels: vec!["售前咨询".into(), "销售组".into()],
    }
}

fn idle_info() -> kefu_wire::automation::IdleInfo {
    kefu_wire::automation::IdleInfo {
        conversation: 7,
        idle: true,
        since: 1_800_000_000_000,
        prompted: false,
    }
}

fn file_meta() -> kefu_wire::files::FileMeta {
    kefu_wire::files::FileMeta {
        name: "报告.pdf".into(),
        size: 70_000,
        sha256: [0xab; 32],
        image: false,
    }
}

fn offline_file() -> kefu_wire::files::OfflineFileInfo {
    kefu_wire::files::OfflineFileInfo {
        file: 3,
        from: Party::Agent(1001),
        meta: file_meta(),
        at: 1_800_000_000_000,
        token: [0x11; 32],
    }
}

fn broadcast_draft() -> kefu_wire::valueadded::BroadcastDraft {
    kefu_wire::valueadded::BroadcastDraft {
        groups: vec![3],
        customers: vec![CustomerId::Identified("u-10086".into())],
        body: MessageBody::Text("双十一大促".into()),
        online_only: true,
        block_replies: true,
        send_at: Some(1_800_000_000_000),
    }
}

fn report_day() -> kefu_wire::reports::Date {
    kefu_wire::reports::Date {
        year: 2026,
        month: 12,
        day: 7,
    }
}

fn survey_draft() -> kefu_wire::survey::SurveyDraft {
    let question = |text: &str, multiple| kefu_wire::survey::SurveyQuestion {
        text: text.into(),
        multiple,
        options: vec!["很好".into(), "一般".into(), "不好".into()],
    };
    kefu_wire::survey::SurveyDraft {
        title: "服务调查".into(),
        background: "谢谢".into(),
        groups: vec![3],
        questions: vec![question("满意吗", false), question("哪些好", true)],
    }
}

fn survey_info() -> kefu_wire::survey::SurveyInfo {
    kefu_wire::survey::SurveyInfo {
        id: 1,
        agent: 1002,
        draft: survey_draft(),
        state: kefu_wire::survey::SurveyState::Open,
        created_at: 1_800_000_000_000,
        closed_at: None,
        answers: 2,
    }
}

fn broadcast_info() -> kefu_wire::valueadded::BroadcastInfo {
    kefu_wire::valueadded::BroadcastInfo {
        id: 1,
        agent: 1002,
        draft: broadcast_draft(),
        state: kefu_wire::valueadded::BroadcastState::Cancelled,
        recipients: 2,
        sent: 0,
        reserved: 0,
        submitted_at: 1_800_000_000_000,
        cancelled: Some((1002, 1_800_000_000_001)),
        reason: None,
    }
}

fn broadcast_summary() -> kefu_wire::valueadded::BroadcastSummary {
    let b = broadcast_info();
    kefu_wire::valueadded::BroadcastSummary {
        id: b.id,
        agent: b.agent,
        state: b.state,
        body: b.draft.body,
        groups: b.draft.groups,
        named: 50_000,
        online_only: b.draft.online_only,
        block_replies: b.draft.block_replies,
        send_at: b.draft.send_at,
        recipients: b.recipients,
        sent: b.sent,
        reserved: b.reserved,
        submitted_at: b.submitted_at,
        cancelled: b.cancelled,
        reason: b.reason,
    }
}

fn enterprise_profile() -> kefu_wire::profile::EnterpriseProfile {
    kefu_wire::profile::EnterpriseProfile {
        full_name: "上海示例贸易有限公司".into(),
        short_name: "示例贸易".into(),
        industry: "批发零售".into(),
        address: "上海市徐汇区".into(),
        phone: "021-54569595".into(),
        web_site: "https://shop.example.com".into(),
        description: "第一行\n第二行".into(),
    }
}

fn account_entry() -> kefu_wire::account_move::AccountEntry {
    kefu_wire::account_move::AccountEntry {
        cf: "contacts".into(),
        key: vec![0, 0, 0, 0, 0, 12, 53, 1, b'c', b'1'],
        value: vec![1, 4, b'n', b'a', b'm', b'e'],
    }
}

fn window_style() -> kefu_wire::profile::ChatWindowStyle {
    kefu_wire::profile::ChatWindowStyle {
        title: "示例客服".into(),
        greeting: "您好".into(),
        theme: "#722ed1".into(),
        logo_url: "https://cdn.example.com/logo.png".into(),
        link_text: "逛逛".into(),
        link_url: "https://shop.example.com/".into(),
    }
}

fn review_cursor() -> kefu_wire::valueadded::ReviewCursor {
    kefu_wire::valueadded::ReviewCursor {
        submitted_at: 1_800_000_000_000,
        account: 800_001,
        id: 3,
    }
}

fn internal_message() -> kefu_wire::internal::InternalMessage {
    kefu_wire::internal::InternalMessage {
        id: 9,
        from: 1001,
        to: 1002,
        at: 1_800_000_000_000,
        text: "开会".into(),
    }
}

// ---------------------------------------------------------------------------------------
// Target `messages`
// ---------------------------------------------------------------------------------------

/// Seeds for the `messages` target: every body type and variant, then malformed bodies.
pub fn message_seeds() -> Vec<Seed> {
    use messages::{input, input_raw};
    let mut seeds = vec![
        Seed::new("valid-hello", input(&hello())),
        Seed::new("valid-welcome", input(&welcome())),
        Seed::new(
            "valid-error",
            input(&ErrorBody {
                code: ErrorCode::WRONG_PASSWORD,
                message: "wrong password".into(),
            }),
        ),
        Seed::new(
            "valid-error-unknown-code",
            input(&ErrorBody {
                code: ErrorCode(999),
                message: String::new(),
            }),
        ),
        Seed::new("valid-push-ack", input(&PushAck { up_to: 42 })),
        Seed::new("valid-ping", input(&Ping { nonce: 9 })),
        Seed::new("valid-pong", input(&Pong { nonce: u64::MAX })),
        Seed::new(
            "valid-go-away",
            input(&GoAway {
                code: ErrorCode::SHUTTING_DOWN,
                message: "restarting".into(),
            }),
        ),
        Seed::new(
            "valid-go-away-to",
            input(&kefu_wire::GoAwayTo {
                code: ErrorCode::ACCOUNT_MOVED,
                message: "served by pair-b".into(),
                address: "127.0.0.3:7070".into(),
            }),
        ),
        Seed::new(
            "valid-replica-hello",
            input(&kefu_wire::replica::ReplicaHello {
                protocol: 1,
                latest: 4_096,
            }),
        ),
        Seed::new(
            "valid-replica-batches",
            input(&kefu_wire::replica::ReplicaBatches {
                batches: vec![kefu_wire::replica::ReplicaBatch {
                    sequence: 7,
                    data: vec![0, 1, 2, 3],
                }],
                primary_latest: 9,
            }),
        ),
        Seed::new(
            "valid-replica-applied",
            input(&kefu_wire::replica::ReplicaApplied { latest: 7 }),
        ),
        // Postcard accepts an over-long varint; the round trip must shorten it.
        Seed::new(
            "valid-ping-overlong-varint",
            input_raw::<Ping>(&[1, 0x81, 0x80, 0x00]),
        ),
    ];
    for (name, r) in request_seeds() {
        seeds.push(Seed::new(format!("valid-request-{name}"), input(&r)));
    }
    // `AdminOnAccount` carries an encoded request as bytes: nested, and not a request.
    let nested = (0..4).fold(Request::WhoAmI, |inner, account| {
        Request::on_account(account, &inner)
    });
    seeds.push(Seed::new(
        "valid-request-admin-on-account-nested",
        input(&nested),
    ));
    let garbage = Request::AdminOnAccount {
        account: 1,
        request: vec![0xff; 8],
    };
    seeds.push(Seed::new(
        "valid-request-admin-on-account-garbage",
        input(&garbage),
    ));
    for (name, r) in response_seeds() {
        seeds.push(Seed::new(format!("valid-response-{name}"), input(&r)));
    }
    for (name, p) in event_seeds() {
        seeds.push(Seed::new(format!("valid-push-{name}"), input(&p)));
    }

    let mut bad_utf8 = hello().encode();
    if let Some(last) = bad_utf8.last_mut() {
        *last = 0xff;
    }
    let mut trailing = Ping { nonce: 1 }.encode();
    trailing.push(0);
    let bad_bool = {
        // AgentInfo is agent, nickname, role, has_password, presence: the byte before the
        // last (presence) is the bool.
        let mut b = Response::Agents(vec![agent(1001, Presence::Online)]).encode();
        let at = b.len() - 2;
        b[at] = 2;
        b
    };
    let bad_option = {
        // Login { account, agent, password, otp: None }: the last byte is the Option tag.
        let mut b = request_seeds()[0].1.encode();
        if let Some(last) = b.last_mut() {
            *last = 2;
        }
        b
    };
    let truncated_welcome = {
        let b = welcome().encode();
        b[..b.len() - 1].to_vec()
    };
    seeds.extend([
        Seed::new("malformed-empty-hello", input_raw::<Hello>(&[])),
        Seed::new(
            "malformed-unknown-version",
            input_raw::<Welcome>(&[2, 1, 0]),
        ),
        Seed::new(
            "malformed-truncated-welcome",
            input_raw::<Welcome>(&truncated_welcome),
        ),
        Seed::new("malformed-bad-utf8", input_raw::<Hello>(&bad_utf8)),
        Seed::new("malformed-trailing-bytes", input_raw::<Ping>(&trailing)),
        Seed::new("malformed-bad-bool", input_raw::<Response>(&bad_bool)),
        Seed::new(
            "malformed-bad-option-tag",
            input_raw::<Request>(&bad_option),
        ),
        Seed::new(
            "malformed-unknown-request-variant",
            input_raw::<Request>(&[1, 0x7f]),
        ),
        Seed::new(
            "malformed-unknown-event-variant",
            input_raw::<Push>(&[1, 1, 9]),
        ),
        // VisitorLogin { account: 1, token: None, channel: 3 }: Channel has 3 values.
        Seed::new(
            "malformed-unknown-channel",
            input_raw::<Request>(&[1, 34, 1, 0, 3]),
        ),
        // VisitorLogin with a token of 31 bytes: the fixed-size array runs short.
        Seed::new(
            "malformed-short-visitor-token",
            input_raw::<Request>(&[[1, 34, 1, 1].as_slice(), &[0x3c; 31]].concat()),
        ),
        // Event::Message whose body is MessageBody variant 3, unknown.
        Seed::new(
            "malformed-unknown-message-body",
            input_raw::<Push>(&[1, 1, 3, 17, 1, 0, 0, 3]),
        ),
        // A vector claiming u64::MAX elements must not be allocated up front.
        Seed::new(
            "malformed-huge-vec-length",
            input_raw::<Response>(&[
                1, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1,
            ]),
        ),
        Seed::new(
            "malformed-huge-string-length",
            input_raw::<GoAway>(&[1, 24, 0xff, 0xff, 0xff, 0xff, 0x0f, b'x']),
        ),
        Seed::new(
            "malformed-varint-overflow",
            input_raw::<PushAck>(&[
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ]),
        ),
    ]);
    seeds
}

// ---------------------------------------------------------------------------------------
// Target `frame_decoder`
// ---------------------------------------------------------------------------------------

fn frame<T: Body>(value: &T, correlation: u32) -> Vec<u8> {
    let mut out = BytesMut::new();
    value.write_frame(correlation, &mut out);
    out.to_vec()
}

fn raw_frame(kind: u16, len: u32, correlation: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&correlation.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A whole, valid server session: every kind a server sends.
fn server_session() -> Vec<u8> {
    [
        frame(&welcome(), 0),
        frame(&Response::LoggedIn(session()), 1),
        frame(&event_seeds()[0].1, 0),
        frame(&Ping { nonce: 77 }, 0),
        frame(
            &ErrorBody {
                code: ErrorCode::PERMISSION_DENIED,
                message: "needs system settings".into(),
            },
            2,
        ),
        frame(&Pong { nonce: 5 }, 0),
        frame(&event_seeds()[1].1, 0),
        frame(&event_seeds()[3].1, 0),
        frame(&event_seeds()[4].1, 0),
        frame(
            &GoAway {
                code: ErrorCode::SESSION_REPLACED,
                message: "logged in elsewhere".into(),
            },
            0,
        ),
    ]
    .concat()
}

/// Seeds for the `frame_decoder` target: server streams read whole and cut in various
/// ways, then malformed frames.
pub fn frame_decoder_seeds() -> Vec<Seed> {
    use frame_decoder::input;
    let mut seeds = vec![
        Seed::new("valid-empty", input(&[], &[])),
        Seed::new("valid-session-one-read", input(&[], &server_session())),
        Seed::new("valid-session-byte-reads", input(&[1], &server_session())),
        Seed::new(
            "valid-session-mixed-reads",
            input(&[5, 0, 13, 1, 200], &server_session()),
        ),
        Seed::new(
            "valid-welcome-header-cut",
            input(&[12, 3], &frame(&welcome(), 0)),
        ),
        Seed::new(
            "valid-connection-error",
            input(
                &[],
                &frame(
                    &ErrorBody {
                        code: ErrorCode::OVERLOADED,
                        message: "too many connections".into(),
                    },
                    0,
                ),
            ),
        ),
    ];
    for (name, r) in response_seeds() {
        let stream = [frame(&welcome(), 0), frame(&r, 3)].concat();
        seeds.push(Seed::new(
            format!("valid-response-{name}"),
            input(&[7], &stream),
        ));
    }
    let mut flags_set = frame(&Ping { nonce: 1 }, 0);
    flags_set[6] = 0x80;
    flags_set[7] = 0x01;
    seeds.push(Seed::new("valid-flags-ignored", input(&[], &flags_set)));

    let max = frame_decoder::MAX_BODY;
    // 1 version + 1 code + 2 length + 4092 text = exactly the maximum body.
    let at_max = GoAway {
        code: ErrorCode::SLOW_CONSUMER,
        message: "x".repeat(max as usize - 4),
    };
    debug_assert_eq!(at_max.encode().len(), max as usize);
    let mut empty_welcome = frame(&welcome(), 0);
    empty_welcome.truncate(12);
    empty_welcome[..4].fill(0);
    let mut trailing = frame(&Pong { nonce: 3 }, 0);
    trailing.push(0);
    let trailing_len = u32::try_from(trailing.len() - 12).unwrap_or(0);
    trailing[..4].copy_from_slice(&trailing_len.to_be_bytes());
    seeds.extend([
        Seed::new(
            "malformed-over-max",
            input(&[], &raw_frame(FrameKind::Push as u16, max + 1, 0, &[1])),
        ),
        Seed::new("valid-at-max", input(&[255], &frame(&at_max, 0))),
        Seed::new(
            "malformed-len-u32-max",
            input(&[], &raw_frame(FrameKind::Welcome as u16, u32::MAX, 0, &[])),
        ),
        Seed::new("malformed-kind-0", input(&[], &raw_frame(0, 0, 0, &[]))),
        Seed::new("malformed-kind-11", input(&[], &raw_frame(11, 1, 0, &[1]))),
        Seed::new(
            "malformed-kind-ffff",
            input(&[], &raw_frame(0xffff, 0, 0, &[])),
        ),
        Seed::new("malformed-empty-body", input(&[], &empty_welcome)),
        Seed::new(
            "malformed-body-version-2",
            input(&[], &raw_frame(FrameKind::Ping as u16, 2, 0, &[2, 0])),
        ),
        Seed::new("malformed-trailing-bytes", input(&[], &trailing)),
        Seed::new(
            "malformed-truncated",
            input(
                &[],
                &raw_frame(FrameKind::Response as u16, 100, 1, &[1; 10]),
            ),
        ),
        Seed::new(
            "malformed-partial-header",
            input(&[], &frame(&welcome(), 0)[..7]),
        ),
        Seed::new(
            "malformed-hello-to-client",
            input(&[], &[frame(&welcome(), 0), frame(&hello(), 0)].concat()),
        ),
        Seed::new(
            "malformed-request-to-client",
            input(&[3], &frame(&Request::WhoAmI, 1)),
        ),
        Seed::new(
            "malformed-push-ack-to-client",
            input(&[], &frame(&PushAck { up_to: 1 }, 0)),
        ),
        Seed::new(
            "malformed-ping-then-bad-frame",
            input(
                &[2],
                &[
                    frame(&Ping { nonce: 1 }, 0),
                    raw_frame(FrameKind::Push as u16, 1, 0, &[1]),
                ]
                .concat(),
            ),
        ),
    ]);
    seeds
}

/// The wire crate's exhaustive variant → index tables, so they exist once.
#[cfg(test)]
#[path = "../../tests/support/mod.rs"]
mod support;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn crate_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return BTreeMap::new();
        };
        entries
            .map(|e| {
                let e = e.expect("directory entry");
                let bytes = std::fs::read(e.path()).expect("corpus file");
                (e.file_name().to_string_lossy().into_owned(), bytes)
            })
            .collect()
    }

    /// Every variant of `Request`, `Response` and `Event` has a seed: the index tables
    /// are exhaustive, and the counts below name how many variants there are.
    #[test]
    fn every_variant_is_seeded() {
        let mut requests = BTreeMap::new();
        for (_, r) in request_seeds() {
            let index = support::request_index(&r);
            requests.insert(index, r.name());
        }
        assert_eq!(requests.len(), 199, "a Request variant has no seed");

        let mut responses = BTreeMap::new();
        for (name, r) in response_seeds() {
            let index = support::response_index(&r);
            responses.insert(index, name);
        }
        assert_eq!(responses.len(), 96, "a Response variant has no seed");

        let mut events = BTreeMap::new();
        for (name, p) in event_seeds() {
            let index = support::event_index(&p.event);
            events.insert(index, name);
        }
        assert_eq!(events.len(), 25, "an Event variant has no seed");
    }

    #[test]
    fn message_seeds_decode_as_their_names_say() {
        for seed in message_seeds() {
            let (&selector, body) = seed.bytes.split_first().expect("selector");
            let decodes = match selector {
                0 => messages::decodes::<Hello>(body),
                1 => messages::decodes::<Welcome>(body),
                2 => messages::decodes::<Request>(body),
                3 => messages::decodes::<Response>(body),
                4 => messages::decodes::<ErrorBody>(body),
                5 => messages::decodes::<Push>(body),
                6 => messages::decodes::<PushAck>(body),
                7 => messages::decodes::<Ping>(body),
                8 => messages::decodes::<Pong>(body),
                9 => messages::decodes::<GoAway>(body),
                10 => messages::decodes::<kefu_wire::replica::ReplicaHello>(body),
                11 => messages::decodes::<kefu_wire::replica::ReplicaBatches>(body),
                12 => messages::decodes::<kefu_wire::replica::ReplicaApplied>(body),
                13 => messages::decodes::<kefu_wire::GoAwayTo>(body),
                other => panic!("{}: selector {other} out of range", seed.name),
            };
            assert_eq!(decodes, seed.is_valid(), "{}", seed.name);
        }
    }

    #[test]
    fn frame_seeds_are_accepted_as_their_names_say() {
        for seed in frame_decoder_seeds() {
            let (&n, rest) = seed.bytes.split_first().expect("size count");
            let stream = &rest[usize::from(n)..];
            let mut conn = kefu_wire::ClientConnection::new("seed", frame_decoder::MAX_BODY);
            let accepted = conn.handle_input(stream).is_ok();
            let whole = {
                let dec = kefu_wire::FrameDecoder::new(frame_decoder::MAX_BODY);
                let mut buf = BytesMut::from(stream);
                while let Ok(Some(_)) = dec.decode(&mut buf) {}
                buf.is_empty()
            };
            assert_eq!(accepted && whole, seed.is_valid(), "{}", seed.name);
        }
    }

    #[test]
    fn seeds_pass_the_checks() {
        for seed in frame_decoder_seeds() {
            crate::on_small_stack(frame_decoder::check, &seed.bytes);
        }
        for seed in message_seeds() {
            crate::on_small_stack(messages::check, &seed.bytes);
        }
    }

    #[test]
    fn committed_corpus_is_the_generated_one() {
        for (target, seeds) in all() {
            let generated: BTreeMap<String, Vec<u8>> =
                seeds.into_iter().map(|s| (s.name, s.bytes)).collect();
            let committed = files_in(&crate_dir().join("corpus").join(target));
            assert!(
                committed == generated,
                "corpus/{target} is stale: run `cargo run --bin make-corpus` in wire/fuzz"
            );
        }
    }

    /// Crashes found earlier (minimised, under `artifacts-found/<target>/`) stay fixed.
    #[test]
    fn found_artifacts_pass_the_checks() {
        let dir = crate_dir().join("artifacts-found");
        for (name, bytes) in files_in(&dir.join("frame_decoder")) {
            eprintln!("replaying artifacts-found/frame_decoder/{name}");
            crate::on_small_stack(frame_decoder::check, &bytes);
        }
        for (name, bytes) in files_in(&dir.join("messages")) {
            eprintln!("replaying artifacts-found/messages/{name}");
            crate::on_small_stack(messages::check, &bytes);
        }
    }
}

fn backup_info(keys: Option<u64>) -> kefu_wire::BackupInfo {
    kefu_wire::BackupInfo {
        backup_id: 3,
        created_at: 1_798_243_200,
        size_bytes: 1 << 20,
        files: 12,
        keys,
    }
}
