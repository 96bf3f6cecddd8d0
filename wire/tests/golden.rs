//! Golden bytes: every frame kind and every message variant, encoded and compared to hex
//! pasted from a known-good run, so that any change of the wire format fails a test.
//!
//! When a case fails, the panic message prints the bytes the encoder produces now. Paste
//! them into the table only if the change is intended *and* `wire/PROTOCOL.md` says so:
//! a golden value that changes is a protocol change for every deployed client.
//!
//! The tables in `wire/PROTOCOL.md` marked `<!-- table: ... -->` are parsed here and
//! checked against the code, so the specification cannot drift from the encoder either.

mod support;

use bytes::BytesMut;
use kefu_wire::account_move::{
    AccountChange, AccountChanges, AccountCursor, AccountEntry, AccountExport,
};
use kefu_wire::automation::{IdleInfo, IdleSettings};
use kefu_wire::chat::{
    AccountPresenceMode, AgentChoice, Alert, CallKind, CallPhase, CallSignal, Channel, ChoiceList,
    ConversationInfo, ConversationState, CustomerId, CustomerSession, DesignatedMode,
    DesignatedSettings, Entry, GroupChoice, MessageBody, MessageInfo, Party, RoutingConfig, Signal,
    WelcomeRule,
};
use kefu_wire::crm::{
    ContactEdit, ContactInfo, ContactNotice, ContactPage, ContactQuery, ContactSettings,
    ContactSort, ContactState, GroupEdit, GroupInfo, GroupNode, HistoryKind, HistoryPage,
    HistoryQuery, ImportReport, InvalidRow, TagEdit, TagInfo, Visit,
};
use kefu_wire::csat::{
    CsatAgentLine, CsatQuery, CsatRating, CsatReportPage, CsatSettings, CsatStyle, CsatSurvey,
};
use kefu_wire::files::{FileEnd, FileMeta, FilePeer, OfflineFileInfo};
use kefu_wire::internal::InternalMessage;
use kefu_wire::menu::{
    MenuAction, MenuNode, MenuOption, MenuPath, MenuPrompt, MenuStep, NavigationMenu,
};
use kefu_wire::prefs::{AgentPrefs, ReminderSettings};
use kefu_wire::profile::{
    ChatWindowStyle, EnterpriseProfile, ProfileReview, ProfileReviewCursor, ProfileReviewPage,
    Rejected, ReviewKind, ReviewSubject, Reviewed, Submitted,
};
use kefu_wire::replica::{ReplicaApplied, ReplicaBatch, ReplicaBatches, ReplicaHello};
use kefu_wire::reports::{Date, ExportChunk, ExportFormat, ReportKind, WorkReportRow};
use kefu_wire::sms::{SmsBalance, SmsDeadLetter};
use kefu_wire::spam::SpamLevel;
use kefu_wire::survey::{
    SurveyDraft, SurveyForm, SurveyInfo, SurveyQuestion, SurveyResult, SurveyState,
};
use kefu_wire::valueadded::{
    BalanceInfo, BroadcastCustomers, BroadcastDraft, BroadcastInfo, BroadcastPage, BroadcastReview,
    BroadcastState, BroadcastSummary, ReviewCursor, ReviewPage,
};
use kefu_wire::web::{
    AllowedOrigins, AutoInviteSettings, CodeKind, EntryCode, EntryCodeDraft, Invitation,
    NamedCount, PageView, PageVisit, PublicEntryCode, SiteAnalytics, SiteVisitor, VisitDay,
    VisitorTrail,
};
use kefu_wire::{
    AccountCentreModule, AccountInfo, AgentFigures, AgentGroup, AgentInfo, AgentProfile,
    BackupInfo, Body, DisplayMode, ErrorBody, ErrorCode, Event, FrameDecoder, FrameKind, GoAway,
    GoAwayTo, Hello, Ping, Plan, Pong, Presence, PresenceChange, Push, PushAck, QuickReply,
    Request, Response, ResumeToken, RoleInfo, SecurityInfo, SecurityLevel, SessionInfo, ShardStats,
    ShownAgent, StorageCheck, TokenFileFormat, Welcome, WireError, MAGIC, MAX_FRAME_CEILING,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use support::request_index;

/// The specification, whose marked tables are checked against the code.
const PROTOCOL_MD: &str = include_str!("../PROTOCOL.md");

// ---------------------------------------------------------------------------------------
// The table of cases
// ---------------------------------------------------------------------------------------

/// One body of any frame kind.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Hello(Hello),
    Welcome(Welcome),
    Request(Request),
    Response(Response),
    Error(ErrorBody),
    Push(Push),
    PushAck(PushAck),
    Ping(Ping),
    Pong(Pong),
    GoAway(GoAway),
    ReplicaHello(ReplicaHello),
    ReplicaBatches(ReplicaBatches),
    ReplicaApplied(ReplicaApplied),
    GoAwayTo(GoAwayTo),
}

impl Value {
    /// The frame kind this value travels in.
    fn kind(&self) -> FrameKind {
        match self {
            Value::Hello(_) => FrameKind::Hello,
            Value::Welcome(_) => FrameKind::Welcome,
            Value::Request(_) => FrameKind::Request,
            Value::Response(_) => FrameKind::Response,
            Value::Error(_) => FrameKind::Error,
            Value::Push(_) => FrameKind::Push,
            Value::PushAck(_) => FrameKind::PushAck,
            Value::Ping(_) => FrameKind::Ping,
            Value::Pong(_) => FrameKind::Pong,
            Value::GoAway(_) => FrameKind::GoAway,
            Value::ReplicaHello(_) => FrameKind::ReplicaHello,
            Value::ReplicaBatches(_) => FrameKind::ReplicaBatches,
            Value::ReplicaApplied(_) => FrameKind::ReplicaApplied,
            Value::GoAwayTo(_) => FrameKind::GoAwayTo,
        }
    }

    /// Appends the whole frame, through the crate's own `Body::write_frame`.
    fn write_frame(&self, correlation: u32, out: &mut BytesMut) {
        match self {
            Value::Hello(v) => v.write_frame(correlation, out),
            Value::Welcome(v) => v.write_frame(correlation, out),
            Value::Request(v) => v.write_frame(correlation, out),
            Value::Response(v) => v.write_frame(correlation, out),
            Value::Error(v) => v.write_frame(correlation, out),
            Value::Push(v) => v.write_frame(correlation, out),
            Value::PushAck(v) => v.write_frame(correlation, out),
            Value::Ping(v) => v.write_frame(correlation, out),
            Value::Pong(v) => v.write_frame(correlation, out),
            Value::GoAway(v) => v.write_frame(correlation, out),
            Value::ReplicaHello(v) => v.write_frame(correlation, out),
            Value::ReplicaBatches(v) => v.write_frame(correlation, out),
            Value::ReplicaApplied(v) => v.write_frame(correlation, out),
            Value::GoAwayTo(v) => v.write_frame(correlation, out),
        }
    }

    /// Decodes a body of the given kind, through the crate's own `Body::decode`.
    fn decode(kind: FrameKind, body: &[u8]) -> Result<Value, WireError> {
        Ok(match kind {
            FrameKind::Hello => Value::Hello(Hello::decode(body)?),
            FrameKind::Welcome => Value::Welcome(Welcome::decode(body)?),
            FrameKind::Request => Value::Request(Request::decode(body)?),
            FrameKind::Response => Value::Response(Response::decode(body)?),
            FrameKind::Error => Value::Error(ErrorBody::decode(body)?),
            FrameKind::Push => Value::Push(Push::decode(body)?),
            FrameKind::PushAck => Value::PushAck(PushAck::decode(body)?),
            FrameKind::Ping => Value::Ping(Ping::decode(body)?),
            FrameKind::Pong => Value::Pong(Pong::decode(body)?),
            FrameKind::GoAway => Value::GoAway(GoAway::decode(body)?),
            FrameKind::ReplicaHello => Value::ReplicaHello(ReplicaHello::decode(body)?),
            FrameKind::ReplicaBatches => Value::ReplicaBatches(ReplicaBatches::decode(body)?),
            FrameKind::ReplicaApplied => Value::ReplicaApplied(ReplicaApplied::decode(body)?),
            FrameKind::GoAwayTo => Value::GoAwayTo(GoAwayTo::decode(body)?),
        })
    }
}

/// One golden case: a value, the correlation id of its frame, the expected frame bytes.
struct Case {
    name: &'static str,
    correlation: u32,
    value: Value,
    /// Frame bytes in hex; whitespace is ignored (header fields are spaced for reading).
    hex: &'static str,
}

/// A broadcast as a list shows it (section 30.11).
fn broadcast_summary() -> BroadcastSummary {
    BroadcastSummary {
        id: 1,
        agent: 1002,
        state: BroadcastState::PendingReview,
        body: MessageBody::Text("双十一".into()),
        groups: vec![3],
        named: 50_000,
        online_only: true,
        block_replies: false,
        send_at: Some(1_800_000_000_000),
        recipients: 50_001,
        sent: 0,
        reserved: 50_001,
        submitted_at: 1_800_000_000_000,
        cancelled: None,
        reason: None,
    }
}

fn case(name: &'static str, correlation: u32, value: Value, hex: &'static str) -> Case {
    Case {
        name,
        correlation,
        value,
        hex,
    }
}

/// An enterprise profile (section 41).
fn enterprise_profile() -> EnterpriseProfile {
    EnterpriseProfile {
        full_name: "企业".into(),
        short_name: "企".into(),
        industry: "IT".into(),
        address: "上海".into(),
        phone: "021".into(),
        web_site: "https://a.cn".into(),
        description: "x".into(),
    }
}

/// A chat window's style (section 41).
fn window_style() -> ChatWindowStyle {
    ChatWindowStyle {
        title: "客服".into(),
        greeting: "您好".into(),
        theme: "#1677ff".into(),
        logo_url: String::new(),
        link_text: "店".into(),
        link_url: "https://a.cn".into(),
    }
}

/// A backup as `AdminBackupList` (`keys: None`) or `AdminBackupVerify` shows it.
fn backup_info(keys: Option<u64>) -> BackupInfo {
    BackupInfo {
        backup_id: 3,
        created_at: 1_798_243_200,
        size_bytes: 1 << 20,
        files: 12,
        keys,
    }
}

fn session(token: [u8; 16]) -> SessionInfo {
    SessionInfo {
        account: 800_001,
        agent: 1001,
        nickname: "小王".to_string(),
        role: 1,
        permissions: 0xFFFF,
        token,
        token_expires_at: 1_767_225_600,
        account_expires_at: 1_798_761_600,
    }
}

fn account_info() -> AccountInfo {
    AccountInfo {
        account: 800_001,
        name: "Acme 客服".to_string(),
        plan: Plan::Silver,
        expires_at: 1_798_761_600,
        created_at: 1_735_689_600,
        agents: 12,
    }
}

fn profile() -> AgentProfile {
    AgentProfile {
        nickname: "小李".to_string(),
        group: "售后".to_string(),
        display: DisplayMode::AgentNumber,
        phone: "+86 138-0013-8000".to_string(),
    }
}

fn custom_role() -> RoleInfo {
    RoleInfo {
        role: 4,
        name: "质检员".to_string(),
        // Permissions 4, 5, 8 and 11 (system settings): bits 3, 4, 7 and 10.
        permissions: 0x0498,
        agents: 1,
    }
}

/// A token serial as printed on the back of a token.
const SERIAL: &str = "KF0012345678";

const TOKEN: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];

/// An identified customer: the enterprise's own id for it.
fn identified() -> CustomerId {
    CustomerId::Identified("u-10086".to_string())
}

/// A visitor id as the server issues it.
const VISITOR: [u8; 16] = [
    0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f,
];

/// A visitor token: the visitor id, then a 16-byte tag.
const VISITOR_TOKEN: [u8; 32] = [
    0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f,
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
];

/// HMAC-SHA256 under the key [`BYTES_32`] of `800001 (u64 BE) ‖ 1767225600 (i64 BE) ‖
/// "u-10086"`: the signature of the `request/CustomerLogin` case, also the test vector in
/// PROTOCOL.md section 12.1 (computed with Python's `hmac` and checked with `openssl`).
const SIGNATURE: [u8; 32] = [
    0x2b, 0x96, 0x5c, 0xb5, 0x09, 0x6b, 0x72, 0x9b, 0x38, 0x69, 0x15, 0xd0, 0xa4, 0x52, 0x42, 0x8b,
    0xa5, 0x7d, 0x92, 0xba, 0x34, 0x78, 0xf4, 0x9d, 0x2d, 0x50, 0xdd, 0x65, 0x1b, 0x6d, 0x63, 0x45,
];

/// A customer-signing key (the `response/CustomerKey` case).
const BYTES_32: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
];

/// Conversation 17 of account 800001, opened 2026-01-01 00:00:00.123 UTC.
fn conversation(
    customer: CustomerId,
    channel: Channel,
    state: ConversationState,
) -> ConversationInfo {
    ConversationInfo {
        conversation: 17,
        customer,
        channel,
        state,
        opened_at: 1_767_225_600_123,
        unread: 0,
    }
}

/// A menu with one option of each action.
fn menu() -> NavigationMenu {
    let opt = |label: &str, action| MenuOption {
        label: label.to_string(),
        action,
    };
    NavigationMenu {
        enabled: true,
        nodes: vec![
            MenuNode {
                prompt: "请选择".to_string(),
                options: vec![
                    opt("网", MenuAction::OpenUrl("https://e.cn/".to_string())),
                    opt("时", MenuAction::AutoReply("九点".to_string())),
                    opt("人", MenuAction::HumanService),
                    opt("下", MenuAction::SubMenu(1)),
                ],
            },
            MenuNode {
                prompt: "产品".to_string(),
                options: vec![
                    opt("王", MenuAction::ToAgent(1002)),
                    opt("组", MenuAction::ToGroup("sales".to_string())),
                ],
            },
        ],
    }
}

fn menu_prompt() -> MenuPrompt {
    MenuPrompt {
        conversation: 7,
        node: 1,
        prompt: "产品".to_string(),
        options: vec!["王".to_string(), "组".to_string()],
    }
}

fn menu_path() -> MenuPath {
    MenuPath {
        conversation: 7,
        labels: vec!["下".to_string(), "组".to_string()],
    }
}

fn message(id: u64, from: Party, body: MessageBody) -> MessageInfo {
    MessageInfo {
        conversation: 17,
        id,
        at: 1_767_225_600_123 + i64::try_from(id).unwrap_or(0) * 1_000,
        from,
        body,
    }
}

/// Contact 张三 (remark 上海) of the identified customer, owned by agent 1002.
fn contact() -> ContactInfo {
    ContactInfo {
        customer: identified(),
        state: ContactState::Friend,
        owner: Some(1002),
        real_name: "张三".to_string(),
        remark: "上海".to_string(),
        nickname: "zs".to_string(),
        phone: "138-0013-8000".to_string(),
        email: "zhangsan@example.com".to_string(),
        fields: vec![("公司".to_string(), "Acme".to_string())],
        groups: vec![3],
        tags: vec![1, 6],
        visit: None,
        last_accepted: Some((1_767_225_600, 1002)),
        last_contact_at: Some(1_767_229_200),
        created_at: 1_735_689_600,
    }
}

/// A visitor stored as a stranger, with nobody as owner and its visit information.
fn visitor_contact() -> ContactInfo {
    ContactInfo {
        customer: CustomerId::Visitor(VISITOR),
        state: ContactState::Stranger,
        owner: None,
        real_name: String::new(),
        remark: String::new(),
        nickname: String::new(),
        phone: String::new(),
        email: String::new(),
        fields: vec![],
        groups: vec![],
        tags: vec![],
        visit: Some(Visit {
            first_at: 1_767_225_600,
            last_at: 1_767_229_200,
            visits: 3,
            source: "https://www.example.com/价格".to_string(),
            region: "上海".to_string(),
        }),
        last_accepted: None,
        last_contact_at: None,
        created_at: 1_767_225_600,
    }
}

/// Contact settings with a verification question.
fn contact_settings() -> ContactSettings {
    ContactSettings {
        auto_friend_request: true,
        question: "您在哪个城市？".to_string(),
        answer: "上海".to_string(),
    }
}

/// Two shared quick replies, one of them Chinese.
fn quick_replies() -> Vec<QuickReply> {
    vec![
        QuickReply {
            shortcut: "价格".to_string(),
            text: "标准版每年 980 元，专业版每年 2,980 元。".to_string(),
        },
        QuickReply {
            shortcut: "bye".to_string(),
            text: "Thank you, goodbye!".to_string(),
        },
    ]
}

/// A call signal with a short payload.
fn call_signal(kind: CallKind, phase: CallPhase, payload: &[u8]) -> Signal {
    Signal::Call(CallSignal {
        kind,
        phase,
        call: 300,
        payload: payload.to_vec(),
    })
}

/// Every frame kind, every `Request`, `Response` and `Event` variant, every value of the
/// field enums (`Presence`, `Plan`, ..., `Channel`, `Entry`, `MessageBody`, `Party`,
/// `ConversationState`, `CustomerId`, and the CRM's `ContactState`, ..., `ContactNotice`),
/// `Some` and `None` options, multi-byte varints, zigzag-encoded `i64`s, non-ASCII strings
/// and an error code this build does not know.
fn code_draft() -> EntryCodeDraft {
    EntryCodeDraft {
        description: "首页".into(),
        kind: CodeKind::Floating,
        routing: Entry::Group("售后".into()),
        site_url: "https://a.cn/".into(),
        style: "A-03".into(),
        anonymous: true,
    }
}

fn entry_code() -> EntryCode {
    EntryCode {
        id: 2,
        draft: code_draft(),
        created_at: 1_800_000_000_000,
        edited_at: 1_800_000_000_001,
    }
}

fn site_visitor() -> SiteVisitor {
    SiteVisitor {
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

fn visit_day() -> VisitDay {
    VisitDay {
        day: 20_454,
        visits: 4,
        unique_visitors: 2,
        page_views: 6,
        consultations: 1,
    }
}
fn survey_draft() -> SurveyDraft {
    SurveyDraft {
        title: "满意度".into(),
        background: "谢谢".into(),
        groups: vec![3],
        questions: vec![SurveyQuestion {
            text: "好吗".into(),
            multiple: true,
            options: vec!["好".into(), "否".into()],
        }],
    }
}

fn survey_info() -> SurveyInfo {
    SurveyInfo {
        id: 1,
        agent: 1002,
        draft: survey_draft(),
        state: SurveyState::Closed,
        created_at: 1_800_000_000_000,
        closed_at: Some(1_800_000_000_001),
        answers: 2,
    }
}

const DAY: Date = Date {
    year: 2026,
    month: 12,
    day: 7,
};

fn csat_settings() -> CsatSettings {
    CsatSettings {
        enabled: true,
        style: CsatStyle::Faces,
        reasons_enabled: true,
        reasons: vec!["慢".into()],
        subscribers: vec!["a@b.cn".into()],
    }
}

fn account_entry() -> AccountEntry {
    AccountEntry {
        cf: "accounts".into(),
        key: 800_001u64.to_be_bytes().to_vec(),
        value: vec![1, 2],
    }
}

/// One change of each kind (section 40.6).
fn account_changes() -> Vec<AccountChange> {
    let key = 800_001u64.to_be_bytes().to_vec();
    vec![
        AccountChange::Put {
            cf: "accounts".into(),
            key: key.clone(),
            value: vec![1, 2],
        },
        AccountChange::Delete {
            cf: "agents".into(),
            key: key.clone(),
        },
        AccountChange::DeleteRange {
            cf: "web".into(),
            start: key,
            end: 800_002u64.to_be_bytes().to_vec(),
        },
        AccountChange::Clear,
    ]
}

fn account_cursor() -> AccountCursor {
    let mut key = 800_001u64.to_be_bytes().to_vec();
    key.push(7);
    AccountCursor {
        cf: "messages".into(),
        key,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // Handshake.
        case(
            "hello",
            0,
            Value::Hello(Hello {
                magic: MAGIC,
                min_version: 1,
                max_version: 1,
                client: "kefu-wire/0.1.0".to_string(),
            }),
            "00000018 0001 0000 00000000 01d58c95da0401010f6b6566752d776972652f302e312e30",
        ),
        case(
            "welcome",
            0,
            Value::Welcome(Welcome {
                version: 1,
                server: "kefud/0.1.0".to_string(),
                max_frame: 1 << 20,
                heartbeat_ms: 15_000,
                idle_timeout_ms: 45_000,
            }),
            "00000016 0002 0000 00000000 01010b6b656675642f302e312e308080409875c8df02",
        ),
        // Requests, in variant order.
        case(
            "request/Login",
            1,
            Value::Request(Request::Login {
                account: 800_001,
                agent: 1001,
                password: "secret".to_string(),
                otp: None,
            }),
            "0000000f 0003 0000 00000001 010081ea30e9070673656372657400",
        ),
        case(
            "request/Login+otp",
            2,
            Value::Request(Request::Login {
                account: 800_001,
                agent: 1002,
                password: "密码-secret".to_string(),
                otp: Some("123456".to_string()),
            }),
            "0000001d 0003 0000 00000002 010081ea30ea070de5af86e7a0812d7365637265740106313233343536",
        ),
        case(
            "request/Resume",
            3,
            Value::Request(Request::Resume {
                account: 800_001,
                agent: 1001,
                token: TOKEN,
            }),
            "00000017 0003 0000 00000003 010181ea30e90700112233445566778899aabbccddeeff",
        ),
        case(
            "request/Logout",
            4,
            Value::Request(Request::Logout),
            "00000002 0003 0000 00000004 0102",
        ),
        case(
            "request/SetPresence",
            5,
            Value::Request(Request::SetPresence {
                presence: Presence::Online,
            }),
            "00000003 0003 0000 00000005 010300",
        ),
        case(
            "request/AddAgent",
            6,
            Value::Request(Request::AddAgent {
                agent: 1002,
                nickname: "小李".to_string(),
                role: Some(3),
            }),
            "0000000d 0003 0000 00000006 0104ea0706e5b08fe69d8e0103",
        ),
        case(
            "request/AddAgent-role",
            7,
            Value::Request(Request::AddAgent {
                agent: 9999,
                nickname: "night shift".to_string(),
                role: None,
            }),
            "00000011 0003 0000 00000007 01048f4e0b6e6967687420736869667400",
        ),
        case(
            "request/SetAgentPassword",
            8,
            Value::Request(Request::SetAgentPassword {
                agent: 1002,
                new_password: "hunter22".to_string(),
                super_password: "super-secret".to_string(),
            }),
            "0000001a 0003 0000 00000008 0105ea070868756e74657232320c73757065722d736563726574",
        ),
        case(
            "request/ChangeOwnPassword",
            9,
            Value::Request(Request::ChangeOwnPassword {
                old_password: "secret".to_string(),
                new_password: "better secret".to_string(),
            }),
            "00000017 0003 0000 00000009 0106067365637265740d62657474657220736563726574",
        ),
        case(
            "request/ChangeSuperPassword",
            10,
            Value::Request(Request::ChangeSuperPassword {
                old_super_password: "super-secret".to_string(),
                new_super_password: "超级密码2025".to_string(),
            }),
            "00000020 0003 0000 0000000a 01070c73757065722d73656372657410e8b685e7baa7e5af86e7a08132303235",
        ),
        case(
            "request/ListAgents",
            11,
            Value::Request(Request::ListAgents),
            "00000002 0003 0000 0000000b 0108",
        ),
        case(
            "request/WhoAmI",
            12,
            Value::Request(Request::WhoAmI),
            "00000002 0003 0000 0000000c 0109",
        ),
        case(
            "request/AdminCreateAccount",
            13,
            Value::Request(Request::AdminCreateAccount {
                account: 800_001,
                name: "Acme 客服".to_string(),
                plan: Plan::Gold,
                expires_at: 1_798_761_600,
                password_1001: "first-password".to_string(),
                super_password: "super-secret".to_string(),
            }),
            "00000033 0003 0000 0000000d 010a81ea300b41636d6520e5aea2e69c8d0080b2b7b30d0e66697273742d70617373776f72640c73757065722d736563726574",
        ),
        case(
            "request/AdminListAccounts",
            14,
            Value::Request(Request::AdminListAccounts {
                after: None,
                limit: 100,
            }),
            "00000004 0003 0000 0000000e 010b0064",
        ),
        case(
            "request/AdminListAccounts+after",
            15,
            Value::Request(Request::AdminListAccounts {
                after: Some(800_001),
                limit: 1000,
            }),
            "00000008 0003 0000 0000000f 010b0181ea30e807",
        ),
        case(
            "request/AdminShowAccount",
            16,
            Value::Request(Request::AdminShowAccount { account: 800_001 }),
            "00000005 0003 0000 00000010 010c81ea30",
        ),
        case(
            "request/AdminAddAgent",
            17,
            Value::Request(Request::AdminAddAgent {
                account: 800_001,
                agent: 1003,
                nickname: "Zoë".to_string(),
                role: Some(2),
            }),
            "0000000e 0003 0000 00000011 010d81ea30eb07045a6fc3ab0102",
        ),
        case(
            "request/AdminSetAgentPassword",
            18,
            Value::Request(Request::AdminSetAgentPassword {
                account: 800_001,
                agent: 1003,
                new_password: "reset-me".to_string(),
            }),
            "00000010 0003 0000 00000012 010e81ea30eb070872657365742d6d65",
        ),
        case(
            "request/AdminListAgents",
            19,
            Value::Request(Request::AdminListAgents { account: 800_001 }),
            "00000005 0003 0000 00000013 010f81ea30",
        ),
        case(
            "request/AdminStats",
            0xFFFF_FFFF,
            Value::Request(Request::AdminStats),
            "00000002 0003 0000 ffffffff 0110",
        ),
        case("request/ListRoles", 20, Value::Request(Request::ListRoles), "00000002 0003 0000 00000014 0111"),
        case(
            "request/CreateRole",
            21,
            Value::Request(Request::CreateRole {
                name: "质检员".to_string(),
                permissions: 0x0498,
            }),
            "0000000e 0003 0000 00000015 011209e8b4a8e6a380e591989809",
        ),
        case(
            "request/UpdateRole",
            22,
            Value::Request(Request::UpdateRole {
                role: 3,
                name: "agent".to_string(),
                permissions: 0x0098,
            }),
            "0000000b 0003 0000 00000016 011303056167656e749801",
        ),
        case(
            "request/DeleteRole",
            23,
            Value::Request(Request::DeleteRole { role: 4 }),
            "00000003 0003 0000 00000017 011404",
        ),
        case(
            "request/SetAgentRole",
            24,
            Value::Request(Request::SetAgentRole {
                agent: 1002,
                role: 300,
            }),
            "00000006 0003 0000 00000018 0115ea07ac02",
        ),
        case(
            "request/GetAgentProfile",
            25,
            Value::Request(Request::GetAgentProfile { agent: 1002 }),
            "00000004 0003 0000 00000019 0116ea07",
        ),
        case(
            "request/SetAgentProfile",
            26,
            Value::Request(Request::SetAgentProfile {
                agent: 1002,
                profile: profile(),
            }),
            "00000025 0003 0000 0000001a 0117ea0706e5b08fe69d8e06e594aee5908e01112b3836203133382d303031332d38303030",
        ),
        case(
            "request/SetAgentProfile-empty",
            27,
            Value::Request(Request::SetAgentProfile {
                agent: 9999,
                profile: AgentProfile {
                    nickname: "Zoë".to_string(),
                    group: String::new(),
                    display: DisplayMode::Nickname,
                    phone: String::new(),
                },
            }),
            "0000000c 0003 0000 0000001b 01178f4e045a6fc3ab000000",
        ),
        case(
            "request/SetSecurityLevel-Low",
            28,
            Value::Request(Request::SetSecurityLevel {
                level: SecurityLevel::Low,
            }),
            "00000003 0003 0000 0000001c 011800",
        ),
        case(
            "request/SetSecurityLevel-Medium",
            29,
            Value::Request(Request::SetSecurityLevel {
                level: SecurityLevel::Medium,
            }),
            "00000003 0003 0000 0000001d 011801",
        ),
        case(
            "request/SetSecurityLevel-High",
            30,
            Value::Request(Request::SetSecurityLevel {
                level: SecurityLevel::High,
            }),
            "00000003 0003 0000 0000001e 011802",
        ),
        case("request/GetSecurity", 31, Value::Request(Request::GetSecurity), "00000002 0003 0000 0000001f 0119"),
        case(
            "request/BindToken",
            32,
            Value::Request(Request::BindToken {
                agent: 1002,
                serial: SERIAL.to_string(),
                code: "012345".to_string(),
            }),
            "00000018 0003 0000 00000020 011aea070c4b463030313233343536373806303132333435",
        ),
        case(
            "request/UnbindToken",
            33,
            Value::Request(Request::UnbindToken { agent: 1002 }),
            "00000004 0003 0000 00000021 011bea07",
        ),
        case(
            "request/CalibrateToken",
            34,
            Value::Request(Request::CalibrateToken {
                serial: SERIAL.to_string(),
                code: "123456".to_string(),
                next_code: "654321".to_string(),
            }),
            "0000001d 0003 0000 00000022 011c0c4b46303031323334353637380631323334353606363534333231",
        ),
        case(
            "request/AdminOnAccount",
            35,
            Value::Request(Request::on_account(
                800_001,
                &Request::SetSecurityLevel {
                    level: SecurityLevel::High,
                },
            )),
            "00000009 0003 0000 00000023 011d81ea3003011802",
        ),
        case(
            "request/AdminOnAccount+CreateRole",
            36,
            Value::Request(Request::on_account(
                1,
                &Request::CreateRole {
                    name: "night".to_string(),
                    permissions: 0xFFFF,
                },
            )),
            "0000000f 0003 0000 00000024 011d010b0112056e69676874ffff03",
        ),
        case(
            "request/AdminImportTokens-csv",
            37,
            Value::Request(Request::AdminImportTokens {
                format: TokenFileFormat::Csv,
                data: b"KF0012345678,3132333435363738393031323334353637383930\n".to_vec(),
                key_hex: None,
                password: None,
            }),
            "0000003c 0003 0000 00000025 011e01364b46303031323334353637382c333133323333333433353336333733383339333033313332333333343335333633373338333933300a0000",
        ),
        case(
            "request/AdminImportTokens-pskc+key",
            38,
            Value::Request(Request::AdminImportTokens {
                format: TokenFileFormat::Pskc,
                data: b"<KeyContainer/>".to_vec(),
                key_hex: Some("12345678901234567890123456789012".to_string()),
                password: None,
            }),
            "00000036 0003 0000 00000026 011e000f3c4b6579436f6e7461696e65722f3e0120313233343536373839303132333435363738393031323334353637383930313200",
        ),
        case(
            "request/AdminImportTokens-pskc+password",
            39,
            Value::Request(Request::AdminImportTokens {
                format: TokenFileFormat::Pskc,
                data: vec![],
                key_hex: None,
                password: Some("口令".to_string()),
            }),
            "0000000d 0003 0000 00000027 011e0000000106e58fa3e4bba4",
        ),
        case(
            "request/AdminUnlockToken",
            40,
            Value::Request(Request::AdminUnlockToken {
                serial: SERIAL.to_string(),
            }),
            "0000000f 0003 0000 00000028 011f0c4b4630303132333435363738",
        ),
        case(
            "request/AdminUnlockAgent",
            41,
            Value::Request(Request::AdminUnlockAgent {
                account: 800_001,
                agent: 1002,
            }),
            "00000007 0003 0000 00000029 012081ea30ea07",
        ),
        case(
            "request/CustomerLogin",
            42,
            Value::Request(Request::CustomerLogin {
                account: 800_001,
                customer: "u-10086".to_string(),
                expires_at: 1_767_225_600,
                signature: SIGNATURE,
                channel: Channel::Desktop,
            }),
            "00000033 0003 0000 0000002a 012181ea3007752d313030383680e4ad950d2b965cb5096b729b386915d0a452428ba57d92ba3478f49d2d50dd651b6d634500",
        ),
        case(
            "request/VisitorLogin",
            43,
            Value::Request(Request::VisitorLogin {
                account: 800_001,
                token: None,
                channel: Channel::Web,
            }),
            "00000007 0003 0000 0000002b 012281ea300001",
        ),
        case(
            "request/VisitorLogin+token",
            44,
            Value::Request(Request::VisitorLogin {
                account: 800_001,
                token: Some(VISITOR_TOKEN),
                channel: Channel::Mobile,
            }),
            "00000027 0003 0000 0000002c 012281ea3001f0e1d2c3b4a5968778695a4b3c2d1e0f0123456789abcdeffedcba987654321002",
        ),
        case(
            "request/OpenConversation-Auto",
            45,
            Value::Request(Request::OpenConversation { entry: Entry::Auto }),
            "00000003 0003 0000 0000002d 012300",
        ),
        case(
            "request/OpenConversation-Agent",
            46,
            Value::Request(Request::OpenConversation {
                entry: Entry::Agent(1002),
            }),
            "00000005 0003 0000 0000002e 012301ea07",
        ),
        case(
            "request/OpenConversation-Group",
            47,
            Value::Request(Request::OpenConversation {
                entry: Entry::Group("售后".to_string()),
            }),
            "0000000a 0003 0000 0000002f 01230206e594aee5908e",
        ),
        case(
            "request/SendMessage-Text",
            48,
            Value::Request(Request::SendMessage {
                conversation: 17,
                client_msg_id: 1,
                body: MessageBody::Text("你好 👋".to_string()),
            }),
            "00000011 0003 0000 00000030 01241101000be4bda0e5a5bd20f09f918b",
        ),
        case(
            "request/SendMessage-Image",
            49,
            Value::Request(Request::SendMessage {
                conversation: 17,
                client_msg_id: 300,
                body: MessageBody::Image {
                    reference: "img/ab12cd".to_string(),
                },
            }),
            "00000011 0003 0000 00000031 012411ac02010a696d672f616231326364",
        ),
        case(
            "request/SendMessage-File",
            50,
            Value::Request(Request::SendMessage {
                conversation: 17,
                client_msg_id: u64::MAX,
                body: MessageBody::File {
                    reference: "f/9c1e".to_string(),
                    name: "发票.pdf".to_string(),
                    size: 1_048_576,
                },
            }),
            "00000023 0003 0000 00000032 012411ffffffffffffffffff010206662f396331650ae58f91e7a5a82e706466808040",
        ),
        case(
            "request/SetAutoAccept",
            51,
            Value::Request(Request::SetAutoAccept { cap: 5 }),
            "00000003 0003 0000 00000033 012505",
        ),
        case(
            "request/SetAutoAccept-off",
            52,
            Value::Request(Request::SetAutoAccept { cap: 0 }),
            "00000003 0003 0000 00000034 012500",
        ),
        case("request/ListQueue", 53, Value::Request(Request::ListQueue), "00000002 0003 0000 00000035 0126"),
        case(
            "request/ListConversations",
            54,
            Value::Request(Request::ListConversations),
            "00000002 0003 0000 00000036 0127",
        ),
        case(
            "request/AcceptConversation",
            55,
            Value::Request(Request::AcceptConversation { conversation: 17 }),
            "00000003 0003 0000 00000037 012811",
        ),
        case(
            "request/CloseConversation",
            56,
            Value::Request(Request::CloseConversation { conversation: 17 }),
            "00000003 0003 0000 00000038 012911",
        ),
        case(
            "request/AdminRotateCustomerKey",
            57,
            Value::Request(Request::AdminRotateCustomerKey { account: 800_001 }),
            "00000005 0003 0000 00000039 012a81ea30",
        ),
        case(
            "request/TransferConversation",
            58,
            Value::Request(Request::TransferConversation {
                conversation: 17,
                to_agent: 1003,
            }),
            "00000005 0003 0000 0000003a 012b11eb07",
        ),
        case(
            "request/GrabConversation",
            59,
            Value::Request(Request::GrabConversation {
                conversation: 17,
                confirmed: true,
            }),
            "00000004 0003 0000 0000003b 012c1101",
        ),
        case(
            "request/ConversationMessages",
            60,
            Value::Request(Request::ConversationMessages {
                conversation: 17,
                after: 300,
                limit: 50,
            }),
            "00000006 0003 0000 0000003c 012d11ac0232",
        ),
        case(
            "request/GetRoutingSettings",
            61,
            Value::Request(Request::GetRoutingSettings),
            "00000002 0003 0000 0000003d 012e",
        ),
        case(
            "request/SetRoutingSettings",
            62,
            Value::Request(Request::SetRoutingSettings {
                settings: RoutingConfig {
                    exclusive: false,
                    no_response_secs: 900,
                    no_response_warn_secs: 60,
                    transfer_timeout_secs: 120,
                    utc_offset_minutes: 480,
                    welcome: vec![WelcomeRule {
                        weekdays: 0b001_1111,
                        start_minute: 540,
                        end_minute: 1080,
                        text: "您好".to_string(),
                    }],
                    busy_reply: Some("稍候".to_string()),
                    away_reply: None,
                },
            }),
            "0000001f 0003 0000 0000003e 012f0084073c78c007011f9c04b80806e682a8e5a5bd0106e7a88de5809900",
        ),
        case(
            "request/Reselect",
            63,
            Value::Request(Request::Reselect {
                conversation: 17,
                entry: Entry::Agent(1002),
            }),
            "00000006 0003 0000 0000003f 01301101ea07",
        ),
        case(
            "request/InitiateConversation",
            64,
            Value::Request(Request::InitiateConversation {
                customer: CustomerId::Identified("kate".to_string()),
                channel: Channel::Web,
            }),
            "00000009 0003 0000 00000040 013100046b61746501",
        ),
        case(
            "request/LogoutWith",
            65,
            Value::Request(Request::LogoutWith {
                keep_conversations: true,
            }),
            "00000003 0003 0000 00000041 013201",
        ),
        case(
            "request/CreateContact",
            66,
            Value::Request(Request::CreateContact {
                customer: identified(),
                state: ContactState::Friend,
                edit: ContactEdit {
                    real_name: Some("张三".to_string()),
                    remark: Some("上海".to_string()),
                    nickname: None,
                    phone: Some("138-0013-8000".to_string()),
                    email: None,
                    fields: vec![("公司".to_string(), Some("Acme".to_string()))],
                    groups: Some(vec![3]),
                    tags: Some(vec![1]),
                },
            }),
            "00000041 0003 0000 00000042 01330007752d3130303836000106e5bca0e4b8890106e4b88ae6b5b700010d3133382d303031332d38303030000106e585ace58fb8010441636d65010103010101",
        ),
        case(
            "request/CreateContact-blacklisted",
            67,
            Value::Request(Request::CreateContact {
                customer: CustomerId::Visitor(VISITOR),
                state: ContactState::Blacklisted,
                edit: ContactEdit::default(),
            }),
            "0000001c 0003 0000 00000043 013301f0e1d2c3b4a5968778695a4b3c2d1e0f020000000000000000",
        ),
        case(
            "request/GetContact",
            68,
            Value::Request(Request::GetContact {
                customer: identified(),
            }),
            "0000000b 0003 0000 00000044 01340007752d3130303836",
        ),
        case(
            "request/UpdateContact",
            69,
            Value::Request(Request::UpdateContact {
                customer: identified(),
                edit: ContactEdit {
                    remark: Some("北京".to_string()),
                    email: Some("zhangsan@example.com".to_string()),
                    fields: vec![("公司".to_string(), None)],
                    tags: Some(vec![]),
                    ..ContactEdit::default()
                },
            }),
            "00000038 0003 0000 00000045 01350007752d3130303836000106e58c97e4baac000001147a68616e6773616e406578616d706c652e636f6d0106e585ace58fb800000100",
        ),
        case(
            "request/SetContactState",
            70,
            Value::Request(Request::SetContactState {
                customer: identified(),
                state: ContactState::Stranger,
            }),
            "0000000c 0003 0000 00000046 01360007752d313030383601",
        ),
        case(
            "request/DeleteContacts",
            71,
            Value::Request(Request::DeleteContacts {
                customers: vec![identified(), CustomerId::Visitor(VISITOR)],
            }),
            "0000001d 0003 0000 00000047 0137020007752d313030383601f0e1d2c3b4a5968778695a4b3c2d1e0f",
        ),
        case(
            "request/SearchContacts",
            72,
            Value::Request(Request::SearchContacts(ContactQuery {
                text: "张三 zhang".to_string(),
                groups: vec![3, 4],
                tags: vec![1],
                owner: Some(1002),
                state: Some(ContactState::Friend),
                last_contact: Some((1_767_225_600, 1_769_904_000)),
                sort: ContactSort::LastContact,
                offset: 0,
                limit: 20,
            })),
            "00000027 0003 0000 00000048 01380ce5bca0e4b889207a68616e67020304010101ea0701000180e4ad950d80def4970d000014",
        ),
        case(
            "request/SearchContacts-Name",
            73,
            Value::Request(Request::SearchContacts(ContactQuery {
                text: String::new(),
                groups: vec![],
                tags: vec![],
                owner: None,
                state: Some(ContactState::Pending),
                last_contact: None,
                sort: ContactSort::Name,
                offset: 200,
                limit: 200,
            })),
            "0000000e 0003 0000 00000049 01380000000001030001c801c801",
        ),
        case(
            "request/SearchContacts-Newest",
            74,
            Value::Request(Request::SearchContacts(ContactQuery {
                text: "上海".to_string(),
                groups: vec![],
                tags: vec![],
                owner: None,
                state: None,
                last_contact: None,
                sort: ContactSort::Newest,
                offset: 0,
                limit: 50,
            })),
            "00000011 0003 0000 0000004a 013806e4b88ae6b5b70000000000020032",
        ),
        case(
            "request/RecentContacts",
            75,
            Value::Request(Request::RecentContacts {
                offset: 0,
                limit: 100,
            }),
            "00000004 0003 0000 0000004b 01390064",
        ),
        case(
            "request/ContactsOnline",
            76,
            Value::Request(Request::ContactsOnline {
                customers: vec![identified(), CustomerId::Visitor(VISITOR)],
            }),
            "0000001d 0003 0000 0000004c 013a020007752d313030383601f0e1d2c3b4a5968778695a4b3c2d1e0f",
        ),
        case("request/ListTags", 77, Value::Request(Request::ListTags), "00000002 0003 0000 0000004d 013b"),
        case(
            "request/EditTags-Create",
            78,
            Value::Request(Request::EditTags(TagEdit::Create {
                name: "VIP".to_string(),
                colour: 0x00ff_d700,
            })),
            "0000000b 0003 0000 0000004e 013c000356495080aeff07",
        ),
        case(
            "request/EditTags-Rename",
            79,
            Value::Request(Request::EditTags(TagEdit::Rename {
                id: 6,
                name: "大客户".to_string(),
            })),
            "0000000e 0003 0000 0000004f 013c010609e5a4a7e5aea2e688b7",
        ),
        case(
            "request/EditTags-Recolour",
            80,
            Value::Request(Request::EditTags(TagEdit::Recolour {
                id: 6,
                colour: 0x00e5_3935,
            })),
            "00000008 0003 0000 00000050 013c0206b5f29407",
        ),
        case(
            "request/EditTags-Delete",
            81,
            Value::Request(Request::EditTags(TagEdit::Delete { id: 6 })),
            "00000004 0003 0000 00000051 013c0306",
        ),
        case("request/ListGroups", 82, Value::Request(Request::ListGroups), "00000002 0003 0000 00000052 013d"),
        case(
            "request/EditGroups-CreateCategory",
            83,
            Value::Request(Request::EditGroups(GroupEdit::CreateCategory {
                name: "客户".to_string(),
            })),
            "0000000a 0003 0000 00000053 013e0006e5aea2e688b7",
        ),
        case(
            "request/EditGroups-CreateGroup",
            84,
            Value::Request(Request::EditGroups(GroupEdit::CreateGroup {
                name: "华东".to_string(),
                category: Some(1),
            })),
            "0000000c 0003 0000 00000054 013e0106e58d8ee4b89c0101",
        ),
        case(
            "request/EditGroups-RenameCategory",
            85,
            Value::Request(Request::EditGroups(GroupEdit::RenameCategory {
                id: 1,
                name: "老客户".to_string(),
            })),
            "0000000e 0003 0000 00000055 013e020109e88081e5aea2e688b7",
        ),
        case(
            "request/EditGroups-RenameGroup",
            86,
            Value::Request(Request::EditGroups(GroupEdit::RenameGroup {
                id: 3,
                name: "上海".to_string(),
            })),
            "0000000b 0003 0000 00000056 013e030306e4b88ae6b5b7",
        ),
        case(
            "request/EditGroups-DeleteCategory",
            87,
            Value::Request(Request::EditGroups(GroupEdit::DeleteCategory { id: 2 })),
            "00000004 0003 0000 00000057 013e0402",
        ),
        case(
            "request/EditGroups-DeleteGroup",
            88,
            Value::Request(Request::EditGroups(GroupEdit::DeleteGroup { id: 4 })),
            "00000004 0003 0000 00000058 013e0504",
        ),
        case(
            "request/EditGroups-MoveGroup",
            89,
            Value::Request(Request::EditGroups(GroupEdit::MoveGroup {
                id: 3,
                category: None,
                position: 0,
            })),
            "00000006 0003 0000 00000059 013e06030000",
        ),
        case(
            "request/EditGroups-MoveCategory",
            90,
            Value::Request(Request::EditGroups(GroupEdit::MoveCategory {
                id: 1,
                position: 2,
            })),
            "00000005 0003 0000 0000005a 013e070102",
        ),
        case(
            "request/ImportContacts",
            91,
            Value::Request(Request::ImportContacts {
                chunk: "id,real_name,remark\nu-10086,张三,上海\n".as_bytes().to_vec(),
                first: true,
                last: true,
            }),
            "0000002f 0003 0000 0000005b 013f2a69642c7265616c5f6e616d652c72656d61726b0a752d31303038362ce5bca0e4b8892ce4b88ae6b5b70a0101",
        ),
        case(
            "request/ExportContacts",
            92,
            Value::Request(Request::ExportContacts {
                after: 0,
                limit: 5_000,
            }),
            "00000005 0003 0000 0000005c 0140008827",
        ),
        case(
            "request/History",
            93,
            Value::Request(Request::History(HistoryQuery {
                customer: identified(),
                all_time: false,
                agent: None,
                kind: HistoryKind::All,
                keyword: String::new(),
                before: None,
                limit: 200,
            })),
            "00000012 0003 0000 0000005d 01410007752d31303038360000000000c801",
        ),
        case(
            "request/History-Images",
            94,
            Value::Request(Request::History(HistoryQuery {
                customer: CustomerId::Visitor(VISITOR),
                all_time: true,
                agent: Some(1002),
                kind: HistoryKind::Images,
                keyword: String::new(),
                before: Some(300),
                limit: 50,
            })),
            "0000001d 0003 0000 0000005e 014101f0e1d2c3b4a5968778695a4b3c2d1e0f0101ea07010001ac0232",
        ),
        case(
            "request/History-Files",
            95,
            Value::Request(Request::History(HistoryQuery {
                customer: identified(),
                all_time: true,
                agent: None,
                kind: HistoryKind::Files,
                keyword: "发票".to_string(),
                before: None,
                limit: 20,
            })),
            "00000017 0003 0000 0000005f 01410007752d313030383601000206e58f91e7a5a80014",
        ),
        case(
            "request/RequestContact",
            96,
            Value::Request(Request::RequestContact {
                customer: identified(),
                note: "您好，我是 Acme 客服小李".to_string(),
            }),
            "0000002d 0003 0000 00000060 01420007752d313030383621e682a8e5a5bdefbc8ce68891e698af2041636d6520e5aea2e69c8de5b08fe69d8e",
        ),
        case(
            "request/AnswerContactRequest",
            97,
            Value::Request(Request::AnswerContactRequest { accept: true }),
            "00000003 0003 0000 00000061 014301",
        ),
        case(
            "request/AddAccount",
            98,
            Value::Request(Request::AddAccount {
                answer: "上海".to_string(),
            }),
            "00000009 0003 0000 00000062 014406e4b88ae6b5b7",
        ),
        case(
            "request/GetContactSettings",
            99,
            Value::Request(Request::GetContactSettings),
            "00000002 0003 0000 00000063 0145",
        ),
        case(
            "request/SetContactSettings",
            100,
            Value::Request(Request::SetContactSettings {
                settings: contact_settings(),
            }),
            "00000020 0003 0000 00000064 01460115e682a8e59ca8e593aae4b8aae59f8ee5b882efbc9f06e4b88ae6b5b7",
        ),
        case(
            "request/ListQuickReplies",
            101,
            Value::Request(Request::ListQuickReplies),
            "00000002 0003 0000 00000065 0147",
        ),
        case(
            "request/SetQuickReplies",
            102,
            Value::Request(Request::SetQuickReplies {
                shared: true,
                replies: quick_replies(),
            }),
            "0000005a 0003 0000 00000066 0148010206e4bbb7e6a0bc36e6a087e58786e78988e6af8fe5b9b42039383020e58583efbc8ce4b893e4b89ae78988e6af8fe5b9b420322c39383020e58583e3808203627965135468616e6b20796f752c20676f6f6462796521",
        ),
        case(
            "request/SetQuickReplies-personal-empty",
            103,
            Value::Request(Request::SetQuickReplies {
                shared: false,
                replies: vec![],
            }),
            "00000004 0003 0000 00000067 01480000",
        ),
        case(
            "request/GetAnalytics",
            104,
            Value::Request(Request::GetAnalytics {
                from: 1_767_225_600,
                until: 1_769_904_000,
            }),
            "0000000c 0003 0000 00000068 014980e4ad950d80def4970d",
        ),
        case(
            "request/AccountCentreTicket-AccountInfo",
            105,
            Value::Request(Request::AccountCentreTicket {
                module: AccountCentreModule::AccountInfo,
            }),
            "00000003 0003 0000 00000069 014a00",
        ),
        case(
            "request/AccountCentreTicket-EnterpriseSpace",
            106,
            Value::Request(Request::AccountCentreTicket {
                module: AccountCentreModule::EnterpriseSpace,
            }),
            "00000003 0003 0000 0000006a 014a01",
        ),
        case(
            "request/AccountCentreTicket-Campaigns",
            107,
            Value::Request(Request::AccountCentreTicket {
                module: AccountCentreModule::Campaigns,
            }),
            "00000003 0003 0000 0000006b 014a02",
        ),
        case(
            "request/AccountCentreTicket-ServiceConfig",
            108,
            Value::Request(Request::AccountCentreTicket {
                module: AccountCentreModule::ServiceConfig,
            }),
            "00000003 0003 0000 0000006c 014a03",
        ),
        case(
            "request/Broadcast",
            109,
            Value::Request(Request::Broadcast {
                groups: vec![3, 4],
                customers: vec![identified(), CustomerId::Visitor(VISITOR)],
                body: MessageBody::Text("双十一大促，全场八折".to_string()),
                otp: Some("012345".to_string()),
            }),
            "00000048 0003 0000 0000006d 014b020304020007752d313030383601f0e1d2c3b4a5968778695a4b3c2d1e0f001ee58f8ce58d81e4b880e5a4a7e4bf83efbc8ce585a8e59cbae585abe68a980106303132333435",
        ),
        case(
            "request/Broadcast-image-no-otp",
            110,
            Value::Request(Request::Broadcast {
                groups: vec![],
                customers: vec![identified()],
                body: MessageBody::Image {
                    reference: "img/ab12cd".to_string(),
                },
                otp: None,
            }),
            "0000001a 0003 0000 0000006e 014b00010007752d3130303836010a696d672f61623132636400",
        ),
        case(
            "request/Signal-TypingStarted",
            111,
            Value::Request(Request::Signal {
                conversation: 17,
                signal: Signal::TypingStarted,
            }),
            "00000004 0003 0000 0000006f 014c1100",
        ),
        case(
            "request/Signal-TypingStopped",
            112,
            Value::Request(Request::Signal {
                conversation: 17,
                signal: Signal::TypingStopped,
            }),
            "00000004 0003 0000 00000070 014c1101",
        ),
        case(
            "request/Signal-Shake",
            113,
            Value::Request(Request::Signal {
                conversation: 17,
                signal: Signal::Shake,
            }),
            "00000004 0003 0000 00000071 014c1102",
        ),
        case(
            "request/Signal-Call-Voice-Offer",
            114,
            Value::Request(Request::Signal {
                conversation: 17,
                signal: call_signal(CallKind::Voice, CallPhase::Offer, b"v=0"),
            }),
            "0000000c 0003 0000 00000072 014c11030000ac0203763d30",
        ),
        case(
            "request/Signal-Call-Video-Answer",
            115,
            Value::Request(Request::Signal {
                conversation: 17,
                signal: call_signal(CallKind::Video, CallPhase::Answer, b"v=0"),
            }),
            "0000000c 0003 0000 00000073 014c11030101ac0203763d30",
        ),
        case(
            "request/Signal-Call-RemoteAssist-IceCandidate",
            116,
            Value::Request(Request::Signal {
                conversation: 17,
                signal: call_signal(CallKind::RemoteAssist, CallPhase::IceCandidate, &[0, 0xff]),
            }),
            "0000000b 0003 0000 00000074 014c11030202ac020200ff",
        ),
        case(
            "request/Signal-Call-Voice-HangUp",
            117,
            Value::Request(Request::Signal {
                conversation: 17,
                signal: call_signal(CallKind::Voice, CallPhase::HangUp, b""),
            }),
            "00000009 0003 0000 00000075 014c11030003ac0200",
        ),
        case(
            "request/SetAccountPresenceMode-AlwaysOnline",
            118,
            Value::Request(Request::SetAccountPresenceMode {
                mode: AccountPresenceMode::AlwaysOnline,
            }),
            "00000003 0003 0000 00000076 014d00",
        ),
        case(
            "request/SetAccountPresenceMode-FromAgents",
            119,
            Value::Request(Request::SetAccountPresenceMode {
                mode: AccountPresenceMode::FromAgents,
            }),
            "00000003 0003 0000 00000077 014d01",
        ),
        case(
            "request/GetAccountPresence",
            120,
            Value::Request(Request::GetAccountPresence),
            "00000002 0003 0000 00000078 014e",
        ),
        case(
            "request/AdminClockShow",
            121,
            Value::Request(Request::AdminClockShow),
            "00000002 0003 0000 00000079 014f",
        ),
        case(
            "request/AdminClockSet",
            122,
            // 2026-12-26T00:00:00Z.
            Value::Request(Request::AdminClockSet {
                unix_ms: 1_798_243_200_000,
            }),
            "00000008 0003 0000 0000007a 015080b0adfad568",
        ),
        case(
            "request/AdminClockAdvance",
            123,
            // 31 days.
            Value::Request(Request::AdminClockAdvance { ms: 2_678_400_000 }),
            "00000007 0003 0000 0000007b 01518090a9fa13",
        ),
        case(
            "request/EnableResume",
            124,
            Value::Request(Request::EnableResume),
            "00000002 0003 0000 0000007c 0152",
        ),
        case(
            "request/ResumeSession",
            125,
            Value::Request(Request::ResumeSession {
                token: ResumeToken {
                    session: (1 << 48) | 7,
                    secret: [0xab; 32],
                },
                last_ack: 300,
            }),
            "0000002b 0003 0000 0000007d 015387808080808040ababababababababababababababababababababababababababababababababac02",
        ),
        case(
            "request/GetServerTime",
            126,
            Value::Request(Request::GetServerTime),
            "00000002 0003 0000 0000007e 0154",
        ),
        case(
            "request/AdminMetrics",
            127,
            Value::Request(Request::AdminMetrics),
            "00000002 0003 0000 0000007f 0155",
        ),
        case(
            "request/AdminCheckStorage",
            128,
            Value::Request(Request::AdminCheckStorage),
            "00000002 0003 0000 00000080 0156",
        ),
        case(
            "request/AdminDeleteAccount",
            129,
            Value::Request(Request::AdminDeleteAccount { account: 800_001 }),
            "00000005 0003 0000 00000081 015781ea30",
        ),
        case(
            "request/GetDesignatedAgent",
            126,
            Value::Request(Request::GetDesignatedAgent),
            "00000002 0003 0000 0000007e 0158",
        ),
        case(
            "request/SetDesignatedAgent",
            127,
            Value::Request(Request::SetDesignatedAgent {
                settings: DesignatedSettings {
                    mode: DesignatedMode::Groups,
                    hide_offline: true,
                    no_response: true,
                },
            }),
            "00000005 0003 0000 0000007f 0159020101",
        ),
        case(
            "request/DesignatedChoices",
            128,
            Value::Request(Request::DesignatedChoices),
            "00000002 0003 0000 00000080 015a",
        ),
        case(
            "request/AdminBackupCreate",
            126,
            Value::Request(Request::AdminBackupCreate),
            "00000002 0003 0000 0000007e 015b",
        ),
        case(
            "request/AdminBackupList",
            127,
            Value::Request(Request::AdminBackupList),
            "00000002 0003 0000 0000007f 015c",
        ),
        case(
            "request/AdminBackupVerify",
            128,
            Value::Request(Request::AdminBackupVerify { backup_id: 3 }),
            "00000003 0003 0000 00000080 015d03",
        ),
        case(
            "request/MarkRead",
            126,
            Value::Request(Request::MarkRead { conversation: 7 }),
            "00000003 0003 0000 0000007e 015e07",
        ),
        case(
            "request/OrderConversations",
            127,
            Value::Request(Request::OrderConversations {
                order: vec![9, 7, 300],
            }),
            "00000007 0003 0000 0000007f 015f030907ac02",
        ),
        case(
            "request/SearchOnlineContacts",
            128,
            Value::Request(Request::SearchOnlineContacts(ContactQuery {
                text: String::new(),
                groups: vec![],
                tags: vec![],
                owner: None,
                state: None,
                last_contact: None,
                sort: ContactSort::LastContact,
                offset: 0,
                limit: 30,
            })),
            "0000000b 0003 0000 00000080 016000000000000000001e",
        ),
        case(
            "request/ListAgentGroups",
            129,
            Value::Request(Request::ListAgentGroups),
            "00000002 0003 0000 00000081 0161",
        ),
        case(
            "request/ServingAgent",
            130,
            Value::Request(Request::ServingAgent),
            "00000002 0003 0000 00000082 0162",
        ),
        case(
            "request/GetAgentPrefs",
            126,
            Value::Request(Request::GetAgentPrefs),
            "00000002 0003 0000 0000007e 0163",
        ),
        case(
            "request/SetAgentPrefs",
            127,
            Value::Request(Request::SetAgentPrefs {
                prefs: AgentPrefs {
                    personal_auto_reply: "稍后回复".to_string(),
                    notify_own_additions: true,
                    notify_customer_added: false,
                },
            }),
            "00000011 0003 0000 0000007f 01640ce7a88de5908ee59b9ee5a48d0100",
        ),
        case(
            "request/GetReminderSettings",
            128,
            Value::Request(Request::GetReminderSettings),
            "00000002 0003 0000 00000080 0165",
        ),
        case(
            "request/SetReminderSettings",
            129,
            Value::Request(Request::SetReminderSettings {
                settings: ReminderSettings {
                    near_limit_percent: 80,
                },
            }),
            "00000003 0003 0000 00000081 016650",
        ),
        case(
            "request/RequestContactFiled",
            130,
            Value::Request(Request::RequestContactFiled {
                customer: identified(),
                note: "您好".to_string(),
                edit: ContactEdit {
                    nickname: Some("凯特".to_string()),
                    groups: Some(vec![3]),
                    ..ContactEdit::default()
                },
            }),
            "00000023 0003 0000 00000082 01670007752d313030383606e682a8e5a5bd00000106e587afe789b900000001010300",
        ),
        case(
            "request/GetContactOwners",
            131,
            Value::Request(Request::GetContactOwners {
                customer: identified(),
            }),
            "0000000b 0003 0000 00000083 01680007752d3130303836",
        ),
        case(
            "request/GetIdleSettings",
            131,
            Value::Request(Request::GetIdleSettings),
            "00000002 0003 0000 00000083 0169",
        ),
        case(
            "request/SetIdleSettings",
            132,
            Value::Request(Request::SetIdleSettings {
                settings: IdleSettings {
                    remind: true,
                    minutes: 5,
                    auto_reply: true,
                    text: "还在吗".to_string(),
                },
            }),
            "0000000f 0003 0000 00000084 016a01050109e8bf98e59ca8e59097",
        ),
        case(
            "request/ListIdleConversations",
            133,
            Value::Request(Request::ListIdleConversations),
            "00000002 0003 0000 00000085 016b",
        ),
        case(
            "request/SendInternal",
            134,
            Value::Request(Request::SendInternal {
                to: 1002,
                client_msg_id: 1,
                text: "开会".to_string(),
            }),
            "0000000c 0003 0000 00000086 016cea070106e5bc80e4bc9a",
        ),
        case(
            "request/InternalHistory",
            135,
            Value::Request(Request::InternalHistory {
                with: 1002,
                before: 0,
                limit: 50,
            }),
            "00000006 0003 0000 00000087 016dea070032",
        ),
        case(
            "request/SearchInternal",
            136,
            Value::Request(Request::SearchInternal {
                with: Some(1002),
                text: "会".to_string(),
                limit: 20,
            }),
            "0000000a 0003 0000 00000088 016e01ea0703e4bc9a14",
        ),
        case(
            "request/GetNavigationMenu",
            137,
            Value::Request(Request::GetNavigationMenu),
            "00000002 0003 0000 00000089 016f",
        ),
        case(
            "request/SetNavigationMenu",
            138,
            Value::Request(Request::SetNavigationMenu { menu: menu() }),
            "00000053 0003 0000 0000008a 0170010209e8afb7e98089e68ba90403e7bd91000d68747470733a2f2f652e636e2f03e697b60106e4b99de782b903e4baba0403e4b88b050106e4baa7e593810203e78e8b02ea0703e7bb84030573616c6573",
        ),
        case(
            "request/ChooseMenuOption",
            139,
            Value::Request(Request::ChooseMenuOption {
                conversation: 7,
                node: 1,
                option: 2,
            }),
            "00000005 0003 0000 0000008b 0171070102",
        ),
        case(
            "request/GetMenuPath",
            140,
            Value::Request(Request::GetMenuPath { conversation: 7 }),
            "00000003 0003 0000 0000008c 017207",
        ),
        case(
            "request/GetSpamFilter",
            137,
            Value::Request(Request::GetSpamFilter),
            "00000002 0003 0000 00000089 0173",
        ),
        case(
            "request/SetSpamFilter",
            138,
            Value::Request(Request::SetSpamFilter {
                level: SpamLevel::High,
            }),
            "00000003 0003 0000 0000008a 017403",
        ),
        case(
            "request/ListTrash",
            139,
            Value::Request(Request::ListTrash),
            "00000002 0003 0000 0000008b 0175",
        ),
        case(
            "request/AcceptFromTrash",
            140,
            Value::Request(Request::AcceptFromTrash { conversation: 7 }),
            "00000003 0003 0000 0000008c 017607",
        ),
        case(
            "request/MuteCustomer",
            141,
            Value::Request(Request::MuteCustomer {
                customer: CustomerId::Identified("u-1".to_string()),
                muted: true,
            }),
            "00000008 0003 0000 0000008d 01770003752d3101",
        ),
        case(
            "request/ListMuted",
            142,
            Value::Request(Request::ListMuted),
            "00000002 0003 0000 0000008e 0178",
        ),
        case(
            "request/ForwardSms",
            137,
            Value::Request(Request::ForwardSms {
                conversation: 7,
                message: 12,
                agent: 1002,
            }),
            "00000006 0003 0000 00000089 0179070cea07",
        ),
        case(
            "request/AdminSmsTopUp",
            138,
            Value::Request(Request::AdminSmsTopUp {
                account: 800_001,
                units: 100,
            }),
            "00000006 0003 0000 0000008a 017a81ea3064",
        ),
        case(
            "request/AdminSmsBalance",
            139,
            Value::Request(Request::AdminSmsBalance { account: 800_001 }),
            "00000005 0003 0000 0000008b 017b81ea30",
        ),
        case(
            "request/AdminSmsDeadLetters",
            140,
            Value::Request(Request::AdminSmsDeadLetters { account: 800_001 }),
            "00000005 0003 0000 0000008c 017c81ea30",
        ),
        case(
            "request/AdminSmsReply",
            141,
            Value::Request(Request::AdminSmsReply {
                account: 800_001,
                sms: 3,
                reply_id: 77,
                text: "好的".to_string(),
            }),
            "0000000e 0003 0000 0000008d 017d81ea30034d06e5a5bde79a84",
        ),
        case(
            "request/FileOffer",
            137,
            Value::Request(Request::FileOffer {
                to: FilePeer::Conversation(7),
                meta: FileMeta {
                    name: "a.pdf".to_string(),
                    size: 70_000,
                    sha256: [0xab; 32],
                    image: false,
                },
            }),
            "0000002e 0003 0000 00000089 017e000705612e706466f0a204abababababababababababababababababababababababababababababababab00",
        ),
        case(
            "request/FileAnswer",
            138,
            Value::Request(Request::FileAnswer {
                transfer: 5,
                accept: true,
                credit: 131_072,
            }),
            "00000007 0003 0000 0000008a 017f0501808008",
        ),
        case(
            "request/FileCredit",
            139,
            Value::Request(Request::FileCredit {
                transfer: 5,
                bytes: 65_536,
            }),
            "00000007 0003 0000 0000008b 01800105808004",
        ),
        case(
            "request/FileChunk",
            140,
            Value::Request(Request::FileChunk {
                transfer: 5,
                offset: 65_536,
                data: b"abc".to_vec(),
            }),
            "0000000b 0003 0000 0000008c 0181010580800403616263",
        ),
        case(
            "request/FileCancel",
            141,
            Value::Request(Request::FileCancel { transfer: 5 }),
            "00000004 0003 0000 0000008d 01820105",
        ),
        case(
            "request/UploadFile",
            142,
            Value::Request(Request::UploadFile {
                to: FilePeer::Agent(1002),
                meta: FileMeta {
                    name: "a.pdf".to_string(),
                    size: 70_000,
                    sha256: [0xab; 32],
                    image: false,
                },
            }),
            "00000030 0003 0000 0000008e 01830101ea0705612e706466f0a204abababababababababababababababababababababababababababababababab00",
        ),
        case(
            "request/UploadChunk",
            143,
            Value::Request(Request::UploadChunk {
                upload: 6,
                offset: 0,
                data: b"abc".to_vec(),
            }),
            "00000009 0003 0000 0000008f 018401060003616263",
        ),
        case(
            "request/FinishUpload",
            144,
            Value::Request(Request::FinishUpload { upload: 6 }),
            "00000004 0003 0000 00000090 01850106",
        ),
        case(
            "request/ListOfflineFiles",
            145,
            Value::Request(Request::ListOfflineFiles),
            "00000003 0003 0000 00000091 018601",
        ),
        case(
            "request/FetchFile",
            146,
            Value::Request(Request::FetchFile { token: [0x11; 32] }),
            "00000023 0003 0000 00000092 0187011111111111111111111111111111111111111111111111111111111111111111",
        ),
        case(
            "request/FetchChunk",
            147,
            Value::Request(Request::FetchChunk {
                fetch: 8,
                offset: 65_536,
                max: 65_536,
            }),
            "0000000a 0003 0000 00000093 01880108808004808004",
        ),
        case(
            "request/AdminBalanceTopUp",
            137,
            Value::Request(Request::AdminBalanceTopUp {
                account: 800_001,
                units: 1_000,
            }),
            "00000008 0003 0000 00000089 01890181ea30e807",
        ),
        case(
            "request/AdminBalanceShow",
            138,
            Value::Request(Request::AdminBalanceShow { account: 800_001 }),
            "00000006 0003 0000 0000008a 018a0181ea30",
        ),
        case(
            "request/GetBalance",
            139,
            Value::Request(Request::GetBalance {
                otp: Some("123456".to_string()),
            }),
            "0000000b 0003 0000 0000008b 018b010106313233343536",
        ),
        case(
            "request/SubmitBroadcast",
            140,
            Value::Request(Request::SubmitBroadcast { draft: BroadcastDraft {
                groups: vec![3],
                customers: vec![CustomerId::Identified("u-1".into())],
                body: MessageBody::Text("双十一".into()),
                online_only: true,
                block_replies: false,
                send_at: Some(1_800_000_000_000),
            }, otp: None }),
            "00000020 0003 0000 0000008c 018c010103010003752d310009e58f8ce58d81e4b88001000180c0e285e36800",
        ),
        case(
            "request/CancelBroadcast",
            141,
            Value::Request(Request::CancelBroadcast { id: 1, otp: None }),
            "00000005 0003 0000 0000008d 018d010100",
        ),
        case(
            "request/ResubmitBroadcast",
            142,
            Value::Request(Request::ResubmitBroadcast { id: 1, draft: BroadcastDraft {
                groups: vec![3],
                customers: vec![CustomerId::Identified("u-1".into())],
                body: MessageBody::Text("双十一".into()),
                online_only: true,
                block_replies: false,
                send_at: Some(1_800_000_000_000),
            }, otp: None }),
            "00000021 0003 0000 0000008e 018e01010103010003752d310009e58f8ce58d81e4b88001000180c0e285e36800",
        ),
        case(
            "request/ListBroadcasts",
            143,
            Value::Request(Request::ListBroadcasts { otp: None }),
            "00000004 0003 0000 0000008f 018f0100",
        ),
        case(
            "request/AdminBroadcastReviewList",
            144,
            Value::Request(Request::AdminBroadcastReviewList { account: 800_001 }),
            "00000006 0003 0000 00000090 01900181ea30",
        ),
        case(
            "request/AdminBroadcastDecide",
            145,
            Value::Request(Request::AdminBroadcastDecide { account: 800_001, id: 1, approve: false, reason: "虚假".into() }),
            "0000000f 0003 0000 00000091 01910181ea30010006e8999ae58187",
        ),
        case(
            "request/AdminSetSensitiveWords",
            146,
            Value::Request(Request::AdminSetSensitiveWords { words: vec!["发票".into()] }),
            "0000000b 0003 0000 00000092 0192010106e58f91e7a5a8",
        ),
        case(
            "request/PreviewBroadcast",
            147,
            Value::Request(Request::PreviewBroadcast { draft: BroadcastDraft {
                groups: vec![3],
                customers: vec![],
                body: MessageBody::Text("双十一".into()),
                online_only: false,
                block_replies: true,
                send_at: None,
            }, otp: Some("123456".into()) }),
            "0000001c 0003 0000 00000093 0193010103000009e58f8ce58d81e4b8800001000106313233343536",
        ),
        case(
            "request/ReplyToBroadcast",
            148,
            Value::Request(Request::ReplyToBroadcast { broadcast: 2, entry: Entry::Auto }),
            "00000005 0003 0000 00000094 0194010200",
        ),
        case(
            "request/ListEntryCodes",
            147,
            Value::Request(Request::ListEntryCodes),
            "00000003 0003 0000 00000093 019501",
        ),
        case(
            "request/CreateEntryCode",
            148,
            Value::Request(Request::CreateEntryCode { draft: code_draft() }),
            "00000027 0003 0000 00000094 01960106e9a696e9a1b5010206e594aee5908e0d68747470733a2f2f612e636e2f04412d303301",
        ),
        case(
            "request/EditEntryCode",
            149,
            Value::Request(Request::EditEntryCode { id: 2, draft: code_draft() }),
            "00000028 0003 0000 00000095 0197010206e9a696e9a1b5010206e594aee5908e0d68747470733a2f2f612e636e2f04412d303301",
        ),
        case(
            "request/DeleteEntryCode",
            150,
            Value::Request(Request::DeleteEntryCode { id: 2 }),
            "00000004 0003 0000 00000096 01980102",
        ),
        case(
            "request/GetEntryCode",
            151,
            Value::Request(Request::GetEntryCode { id: 2 }),
            "00000004 0003 0000 00000097 01990102",
        ),
        case(
            "request/OpenConversationByCode",
            152,
            Value::Request(Request::OpenConversationByCode { id: 2 }),
            "00000004 0003 0000 00000098 019a0102",
        ),
        case(
            "request/PageView",
            153,
            Value::Request(Request::PageView(PageView {
                url: "https://a.cn/".into(),
                title: "首页".into(),
                referrer: String::new(),
            })),
            "00000019 0003 0000 00000099 019b010d68747470733a2f2f612e636e2f06e9a696e9a1b500",
        ),
        case("request/PageLeft", 154, Value::Request(Request::PageLeft), "00000003 0003 0000 0000009a 019c01"),
        case(
            "request/ListSiteVisitors",
            155,
            Value::Request(Request::ListSiteVisitors),
            "00000003 0003 0000 0000009b 019d01",
        ),
        case(
            "request/GetVisitorTrail",
            156,
            Value::Request(Request::GetVisitorTrail { visitor: CustomerId::Visitor([7; 16]) }),
            "00000014 0003 0000 0000009c 019e010107070707070707070707070707070707",
        ),
        case(
            "request/InviteVisitor",
            157,
            Value::Request(Request::InviteVisitor {
                visitor: CustomerId::Visitor([7; 16]),
                text: "您好".into(),
            }),
            "0000001b 0003 0000 0000009d 019f01010707070707070707070707070707070706e682a8e5a5bd",
        ),
        case(
            "request/AnswerInvitation",
            158,
            Value::Request(Request::AnswerInvitation { invitation: 3, accept: true }),
            "00000005 0003 0000 0000009e 01a0010301",
        ),
        case("request/GetAutoInvite", 159, Value::Request(Request::GetAutoInvite), "00000003 0003 0000 0000009f 01a101"),
        case(
            "request/SetAutoInvite",
            160,
            Value::Request(Request::SetAutoInvite {
                settings: AutoInviteSettings { enabled: true, after_secs: 30, text: "您好".into() },
            }),
            "0000000c 0003 0000 000000a0 01a201011e06e682a8e5a5bd",
        ),
        case(
            "request/GetVisitTrend",
            161,
            Value::Request(Request::GetVisitTrend { from_day: 20_454, until_day: 20_460 }),
            "00000009 0003 0000 000000a1 01a301e69f01ec9f01",
        ),
        case(
            "request/GetSiteAnalytics",
            162,
            Value::Request(Request::GetSiteAnalytics { from_day: 20_454, until_day: 20_460 }),
            "00000009 0003 0000 000000a2 01a401e69f01ec9f01",
        ),
        case(
            "request/GetWorkReport",
            147,
            Value::Request(Request::GetWorkReport { from: DAY, to: DAY, agent: Some(1002) }),
            "0000000e 0003 0000 00000093 01a501ea0f0c07ea0f0c0701ea07",
        ),
        case(
            "request/CreateSurvey",
            148,
            Value::Request(Request::CreateSurvey { draft: survey_draft(), otp: None }),
            "00000029 0003 0000 00000094 01a60109e6bba1e6848fe5baa606e8b0a2e8b0a201030106e5a5bde59097010203e5a5bd03e590a600",
        ),
        case(
            "request/EditSurvey",
            149,
            Value::Request(Request::EditSurvey { id: 1, draft: survey_draft(), otp: Some("123456".into()) }),
            "00000031 0003 0000 00000095 01a7010109e6bba1e6848fe5baa606e8b0a2e8b0a201030106e5a5bde59097010203e5a5bd03e590a60106313233343536",
        ),
        case(
            "request/CloseSurvey",
            150,
            Value::Request(Request::CloseSurvey { id: 1, otp: None }),
            "00000005 0003 0000 00000096 01a8010100",
        ),
        case(
            "request/ListSurveys",
            151,
            Value::Request(Request::ListSurveys { otp: None }),
            "00000004 0003 0000 00000097 01a90100",
        ),
        case(
            "request/GetSurveyResult",
            152,
            Value::Request(Request::GetSurveyResult { id: 1, otp: None }),
            "00000005 0003 0000 00000098 01aa010100",
        ),
        case(
            "request/ListOpenSurveys",
            153,
            Value::Request(Request::ListOpenSurveys),
            "00000003 0003 0000 00000099 01ab01",
        ),
        case(
            "request/AnswerSurvey",
            154,
            Value::Request(Request::AnswerSurvey { survey: 1, choices: vec![vec![0, 1]] }),
            "00000008 0003 0000 0000009a 01ac010101020001",
        ),
        case(
            "request/ExportReport",
            155,
            Value::Request(Request::ExportReport {
                report: ReportKind::WorkReport { from: DAY, to: DAY, agent: None },
                format: ExportFormat::Xlsx,
                otp: None,
            }),
            "0000000f 0003 0000 0000009b 01ad0100ea0f0c07ea0f0c07000100",
        ),
        case(
            "request/ExportReport/survey-answers",
            156,
            Value::Request(Request::ExportReport {
                report: ReportKind::SurveyAnswers { survey: 1 },
                format: ExportFormat::Csv,
                otp: None,
            }),
            "00000007 0003 0000 0000009c 01ad0102010000",
        ),
        case(
            "request/ExportReport/survey-results",
            157,
            Value::Request(Request::ExportReport {
                report: ReportKind::SurveyResults { survey: 1 },
                format: ExportFormat::Csv,
                otp: None,
            }),
            "00000007 0003 0000 0000009d 01ad0101010000",
        ),
        case(
            "request/ExportReport/csat",
            155,
            Value::Request(Request::ExportReport {
                report: ReportKind::Csat { from: Some(20_454), to: None },
                format: ExportFormat::Csv,
                otp: None,
            }),
            "0000000b 0003 0000 0000009b 01ad010301ccbf02000000",
        ),
        case(
            "request/ExportReport/csat-detail",
            155,
            Value::Request(Request::ExportReport {
                report: ReportKind::CsatDetail { from: None, to: Some(20_454) },
                format: ExportFormat::Csv,
                otp: None,
            }),
            "0000000b 0003 0000 0000009b 01ad01040001ccbf020000",
        ),
        case(
            "request/ExportReport/visit-trend",
            155,
            Value::Request(Request::ExportReport {
                report: ReportKind::VisitTrend { from_day: 20_454, until_day: 20_460 },
                format: ExportFormat::Csv,
                otp: None,
            }),
            "0000000c 0003 0000 0000009b 01ad0105e69f01ec9f010000",
        ),
        case(
            "request/ExportReport/site-analytics",
            155,
            Value::Request(Request::ExportReport {
                report: ReportKind::SiteAnalytics { from_day: 20_454, until_day: 20_460 },
                format: ExportFormat::Csv,
                otp: None,
            }),
            "0000000c 0003 0000 0000009b 01ad0106e69f01ec9f010000",
        ),
        case(
            "request/ExportChunk",
            158,
            Value::Request(Request::ExportChunk { export: 1, index: 2 }),
            "00000005 0003 0000 0000009e 01ae010102",
        ),
        case(
            "request/GetCsatSettings",
            147,
            Value::Request(Request::GetCsatSettings),
            "00000003 0003 0000 00000093 01af01",
        ),
        case(
            "request/SetCsatSettings",
            148,
            Value::Request(Request::SetCsatSettings(csat_settings())),
            "00000013 0003 0000 00000094 01b0010102010103e685a201066140622e636e",
        ),
        case(
            "request/RateConversation",
            149,
            Value::Request(Request::RateConversation { conversation: 7, rating: 2, reasons: vec![0], text: "慢".into() }),
            "0000000b 0003 0000 00000095 01b1010702010003e685a2",
        ),
        case(
            "request/CsatReport",
            150,
            Value::Request(Request::CsatReport(CsatQuery { from: Some(20_794), to: None, detail: true, after: Some(vec![1, 2]) })),
            "0000000d 0003 0000 00000096 01b20101f4c402000101020102",
        ),
        case(
            "request/SetAllowedOrigins",
            151,
            Value::Request(Request::SetAllowedOrigins { origins: vec!["https://shop.example.com".into()] }),
            "0000001d 0003 0000 00000097 01b301011868747470733a2f2f73686f702e6578616d706c652e636f6d",
        ),
        case(
            "request/GetAllowedOrigins",
            152,
            Value::Request(Request::GetAllowedOrigins),
            "00000003 0003 0000 00000098 01b401",
        ),
        case(
            "request/ListBroadcastPage",
            151,
            Value::Request(Request::ListBroadcastPage { before: Some(9), limit: 50, otp: None }),
            "00000007 0003 0000 00000097 01b50101093200",
        ),
        case(
            "request/GetBroadcastCustomers",
            152,
            Value::Request(Request::GetBroadcastCustomers { id: 2, offset: 1_000, limit: 1_000, otp: Some("123456".into()) }),
            "00000010 0003 0000 00000098 01b60102e807e8070106313233343536",
        ),
        case(
            "request/AdminBroadcastReviewQueue",
            153,
            Value::Request(Request::AdminBroadcastReviewQueue {
                after: Some(ReviewCursor { submitted_at: 1_800_000_000_000, account: 800_001, id: 3 }),
                limit: 50,
            }),
            "0000000f 0003 0000 00000099 01b7010180c0e285e36881ea300332",
        ),
        case(
            "request/CentreLogin",
            151,
            Value::Request(Request::CentreLogin {
                account: 800_001,
                agent: 1001,
                password: "secret".to_string(),
                otp: None,
            }),
            "00000010 0003 0000 00000097 01b80181ea30e9070673656372657400",
        ),
        case(
            "request/CentreTicketLogin",
            152,
            Value::Request(Request::CentreTicketLogin { ticket: vec![1, 2, 3] }),
            "00000007 0003 0000 00000098 01b90103010203",
        ),
        case(
            "request/SubmitSurveyBroadcast",
            186,
            Value::Request(Request::SubmitSurveyBroadcast { survey: 2, draft: BroadcastDraft {
                groups: vec![3],
                customers: vec![],
                body: MessageBody::Text("问卷".into()),
                online_only: false,
                block_replies: true,
                send_at: None,
            }, otp: None }),
            "00000013 0003 0000 000000ba 01ba01020103000006e997aee58db700010000",
        ),
        case(
            "request/PreviewSurveyBroadcast",
            187,
            Value::Request(Request::PreviewSurveyBroadcast { survey: 2, draft: BroadcastDraft {
                groups: vec![3],
                customers: vec![],
                body: MessageBody::Text("问卷".into()),
                online_only: false,
                block_replies: true,
                send_at: None,
            }, otp: Some("123456".into()) }),
            "0000001a 0003 0000 000000bb 01bb01020103000006e997aee58db70001000106313233343536",
        ),
        case("request/GetEnterpriseProfile", 153, Value::Request(Request::GetEnterpriseProfile), "00000003 0003 0000 00000099 01bc01"),
        case(
            "request/SubmitEnterpriseProfile",
            154,
            Value::Request(Request::SubmitEnterpriseProfile { profile: enterprise_profile() }),
            "0000002b 0003 0000 0000009a 01bd0106e4bc81e4b89a03e4bc8102495406e4b88ae6b5b7033032310c68747470733a2f2f612e636e0178",
        ),
        case("request/GetChatWindowStyle", 155, Value::Request(Request::GetChatWindowStyle), "00000003 0003 0000 0000009b 01be01"),
        case(
            "request/SubmitChatWindowStyle",
            156,
            Value::Request(Request::SubmitChatWindowStyle { style: window_style() }),
            "0000002b 0003 0000 0000009c 01bf0106e5aea2e69c8d06e682a8e5a5bd07233136373766660003e5ba970c68747470733a2f2f612e636e",
        ),
        case("request/GetWindowStyle", 157, Value::Request(Request::GetWindowStyle), "00000003 0003 0000 0000009d 01c001"),
        case(
            "request/AdminProfileReviewQueue",
            158,
            Value::Request(Request::AdminProfileReviewQueue {
                after: Some(ProfileReviewCursor {
                    submitted_at: 1_000,
                    account: 800_001,
                    kind: ReviewKind::Style,
                }),
                limit: 20,
            }),
            "0000000b 0003 0000 0000009e 01c10101d00f81ea300114",
        ),
        case(
            "request/AdminReviewProfile",
            159,
            Value::Request(Request::AdminReviewProfile {
                account: 800_001,
                kind: ReviewKind::Profile,
                approve: false,
                reason: "不符".into(),
            }),
            "0000000f 0003 0000 0000009f 01c20181ea30000006e4b88de7aca6",
        ),
        case(
            "request/AdminFreezeAccount",
            160,
            Value::Request(Request::AdminFreezeAccount {
                account: 800_001,
                frozen: true,
            }),
            "00000007 0003 0000 000000a0 01c30181ea3001",
        ),
        case(
            "request/AdminExportAccount",
            161,
            Value::Request(Request::AdminExportAccount {
                account: 800_001,
                after: Some(account_cursor()),
            }),
            "0000001a 0003 0000 000000a1 01c40181ea3001086d657373616765730900000000000c350107",
        ),
        case(
            "request/AdminImportAccount",
            162,
            Value::Request(Request::AdminImportAccount {
                account: 800_001,
                entries: vec![account_entry()],
                first: true,
            }),
            "0000001d 0003 0000 000000a2 01c50181ea3001086163636f756e74730800000000000c350102010201",
        ),
        case(
            "request/AdminAccountMoved",
            163,
            Value::Request(Request::AdminAccountMoved {
                account: 800_001,
                address: "127.0.0.9:7070".into(),
            }),
            "00000015 0003 0000 000000a3 01c60181ea300e3132372e302e302e393a37303730",
        ),
        case(
            "request/LoginReadOnly",
            164,
            Value::Request(Request::LoginReadOnly {
                account: 800_001,
                agent: 1001,
                password: "secret".to_string(),
                otp: Some("123456".to_string()),
            }),
            "00000017 0003 0000 000000a4 01c70181ea30e907067365637265740106313233343536",
        ),
        case(
            "request/AdminAccountChanges",
            165,
            Value::Request(Request::AdminAccountChanges {
                account: 800_001,
                after: Some(300),
            }),
            "00000009 0003 0000 000000a5 01c80181ea3001ac02",
        ),
        case(
            "request/AdminApplyAccountChanges",
            166,
            Value::Request(Request::AdminApplyAccountChanges {
                account: 800_001,
                after: 300,
                upto: 302,
                changes: account_changes(),
            }),
            "0000004a 0003 0000 000000a6 01c90181ea30ac02ae020400086163636f756e74730800000000000c350102010201066167656e74730800000000000c350102037765620800000000000c35010800000000000c350203",
        ),
        // Responses, in variant order.
        case("response/Ok", 4, Value::Response(Response::Ok), "00000002 0004 0000 00000004 0100"),
        case(
            "response/LoggedIn",
            1,
            Value::Response(Response::LoggedIn(session(TOKEN))),
            "0000002c 0004 0000 00000001 010181ea30e90706e5b08fe78e8b01ffff0300112233445566778899aabbccddeeff80e4ad950d80b2b7b30d",
        ),
        case(
            "response/Session",
            12,
            Value::Response(Response::Session(session([0; 16]))),
            "0000002c 0004 0000 0000000c 010281ea30e90706e5b08fe78e8b01ffff030000000000000000000000000000000080e4ad950d80b2b7b30d",
        ),
        case(
            "response/Agents",
            11,
            Value::Response(Response::Agents(vec![
                AgentInfo {
                    agent: 1001,
                    nickname: "小王".to_string(),
                    role: 1,
                    has_password: true,
                    presence: Presence::Away,
                },
                AgentInfo {
                    agent: 1002,
                    nickname: "小李".to_string(),
                    role: 3,
                    has_password: false,
                    presence: Presence::Busy,
                },
            ])),
            "0000001b 0004 0000 0000000b 010302e90706e5b08fe78e8b010101ea0706e5b08fe69d8e030002",
        ),
        case(
            "response/Agents-empty",
            19,
            Value::Response(Response::Agents(vec![])),
            "00000003 0004 0000 00000013 010300",
        ),
        case(
            "response/Accounts",
            14,
            Value::Response(Response::Accounts(vec![account_info()])),
            "0000001e 0004 0000 0000000e 01040181ea300b41636d6520e5aea2e69c8d0180b2b7b30d8096a4f70c0c",
        ),
        case(
            "response/Account",
            16,
            Value::Response(Response::Account(account_info())),
            "0000001d 0004 0000 00000010 010581ea300b41636d6520e5aea2e69c8d0180b2b7b30d8096a4f70c0c",
        ),
        case(
            "response/Stats",
            20,
            Value::Response(Response::Stats {
                uptime_s: 86_400,
                shards: vec![
                    ShardStats {
                        shard: 0,
                        connections: 5_000,
                        sessions: 4_200,
                        accounts: 300,
                        frames_in: 1_234_567,
                        frames_out: 2_345_678,
                    },
                    ShardStats {
                        shard: 1,
                        connections: 0,
                        sessions: 0,
                        accounts: 0,
                        frames_in: 0,
                        frames_out: 0,
                    },
                ],
            }),
            "0000001a 0004 0000 00000014 010680a30502008827e820ac0287ad4bce958f01010000000000",
        ),
        case(
            "response/Roles",
            20,
            Value::Response(Response::Roles(vec![
                RoleInfo {
                    role: 1,
                    name: "超级管理员".to_string(),
                    permissions: 0xFFFF,
                    agents: 1,
                },
                RoleInfo {
                    role: 2,
                    name: "管理员".to_string(),
                    permissions: 0x0FFF,
                    agents: 0,
                },
                RoleInfo {
                    role: 3,
                    name: "客服".to_string(),
                    permissions: 0x0098,
                    agents: 200,
                },
                custom_role(),
            ])),
            "00000040 0004 0000 00000014 010704010fe8b685e7baa7e7aea1e79086e59198ffff03010209e7aea1e79086e59198ff1f000306e5aea2e69c8d9801c8010409e8b4a8e6a380e59198980901",
        ),
        case(
            "response/Role",
            21,
            Value::Response(Response::Role(custom_role())),
            "00000010 0004 0000 00000015 01080409e8b4a8e6a380e59198980901",
        ),
        case(
            "response/Profile",
            25,
            Value::Response(Response::Profile(profile())),
            "00000023 0004 0000 00000019 010906e5b08fe69d8e06e594aee5908e01112b3836203133382d303031332d38303030",
        ),
        case(
            "response/Security",
            31,
            Value::Response(Response::Security(SecurityInfo {
                level: SecurityLevel::Medium,
                token_serial: None,
            })),
            "00000004 0004 0000 0000001f 010a0100",
        ),
        case(
            "response/Security+token",
            31,
            Value::Response(Response::Security(SecurityInfo {
                level: SecurityLevel::High,
                token_serial: Some(SERIAL.to_string()),
            })),
            "00000011 0004 0000 0000001f 010a02010c4b4630303132333435363738",
        ),
        case(
            "response/TokensImported",
            37,
            Value::Response(Response::TokensImported {
                serials: vec![SERIAL.to_string(), "KF0012345679".to_string()],
            }),
            "0000001d 0004 0000 00000025 010b020c4b46303031323334353637380c4b4630303132333435363739",
        ),
        case(
            "response/CustomerLoggedIn",
            42,
            Value::Response(Response::CustomerLoggedIn(CustomerSession {
                account: 800_001,
                customer: identified(),
                visitor_token: None,
                conversation: Some(conversation(
                    identified(),
                    Channel::Desktop,
                    ConversationState::Assigned { agent: 1002 },
                )),
            })),
            "00000025 0004 0000 0000002a 010c81ea300007752d31303038360001110007752d31303038360001ea07f6a1d5edee6600",
        ),
        case(
            "response/CustomerLoggedIn-visitor",
            44,
            Value::Response(Response::CustomerLoggedIn(CustomerSession {
                account: 800_001,
                customer: CustomerId::Visitor(VISITOR),
                visitor_token: Some(VISITOR_TOKEN),
                conversation: None,
            })),
            "00000038 0004 0000 0000002c 010c81ea3001f0e1d2c3b4a5968778695a4b3c2d1e0f01f0e1d2c3b4a5968778695a4b3c2d1e0f0123456789abcdeffedcba987654321000",
        ),
        case(
            "response/Conversation",
            45,
            Value::Response(Response::Conversation(conversation(
                CustomerId::Visitor(VISITOR),
                Channel::Web,
                ConversationState::Queued { target: None },
            ))),
            "0000001e 0004 0000 0000002d 010d1101f0e1d2c3b4a5968778695a4b3c2d1e0f010000f6a1d5edee6600",
        ),
        case(
            "response/Conversation-queued-for-agent",
            46,
            Value::Response(Response::Conversation(conversation(
                CustomerId::Visitor(VISITOR),
                Channel::Web,
                ConversationState::Queued { target: Some(1002) },
            ))),
            "00000020 0004 0000 0000002e 010d1101f0e1d2c3b4a5968778695a4b3c2d1e0f010001ea07f6a1d5edee6600",
        ),
        case(
            "response/Conversations",
            54,
            Value::Response(Response::Conversations(vec![
                ConversationInfo {
                    unread: 3,
                    ..conversation(
                        identified(),
                        Channel::Desktop,
                        ConversationState::Assigned { agent: 1002 },
                    )
                },
                ConversationInfo {
                    conversation: 300,
                    ..conversation(
                        CustomerId::Visitor(VISITOR),
                        Channel::Mobile,
                        ConversationState::Assigned { agent: 1002 },
                    )
                },
            ])),
            "00000036 0004 0000 00000036 010e02110007752d31303038360001ea07f6a1d5edee6603ac0201f0e1d2c3b4a5968778695a4b3c2d1e0f0201ea07f6a1d5edee6600",
        ),
        case(
            "response/Conversations-empty",
            53,
            Value::Response(Response::Conversations(vec![])),
            "00000003 0004 0000 00000035 010e00",
        ),
        case(
            "response/Sent",
            48,
            Value::Response(Response::Sent {
                message: 300,
                duplicate: false,
            }),
            "00000005 0004 0000 00000030 010fac0200",
        ),
        case(
            "response/Sent-duplicate",
            48,
            Value::Response(Response::Sent {
                message: 300,
                duplicate: true,
            }),
            "00000005 0004 0000 00000030 010fac0201",
        ),
        case(
            "response/Accepted",
            55,
            Value::Response(Response::Accepted {
                conversation: conversation(
                    identified(),
                    Channel::Desktop,
                    ConversationState::Assigned { agent: 1002 },
                ),
                history: vec![
                    message(298, Party::System, MessageBody::Text("欢迎光临".to_string())),
                    message(
                        299,
                        Party::Customer,
                        MessageBody::Image {
                            reference: "img/ab12cd".to_string(),
                        },
                    ),
                    message(
                        300,
                        Party::Agent(1001),
                        MessageBody::File {
                            reference: "f/9c1e".to_string(),
                            name: "发票.pdf".to_string(),
                            size: 1_048_576,
                        },
                    ),
                ],
            }),
            "00000068 0004 0000 00000037 0110110007752d31303038360001ea07f6a1d5edee66000311aa0296d2f9edee6602000ce6aca2e8bf8ee58589e4b8b411ab02e6e1f9edee6600010a696d672f61623132636411ac02b6f1f9edee6601e9070206662f396331650ae58f91e7a5a82e706466808040",
        ),
        case(
            "response/Accepted-no-history",
            55,
            Value::Response(Response::Accepted {
                conversation: conversation(
                    CustomerId::Visitor(VISITOR),
                    Channel::Web,
                    ConversationState::Assigned { agent: 1002 },
                ),
                history: vec![],
            }),
            "00000020 0004 0000 00000037 01101101f0e1d2c3b4a5968778695a4b3c2d1e0f0101ea07f6a1d5edee660000",
        ),
        case(
            "response/CustomerKey",
            57,
            Value::Response(Response::CustomerKey(BYTES_32)),
            "00000022 0004 0000 00000039 0111000102030405060708090a0b0c0d0e0ff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        ),
        case(
            "response/Messages",
            60,
            Value::Response(Response::Messages(vec![MessageInfo {
                conversation: 17,
                id: 301,
                at: 1_800_000_000_000,
                from: Party::Agent(1002),
                body: MessageBody::Text("好的".to_string()),
            }])),
            "00000017 0004 0000 0000003c 01120111ad0280c0e285e36801ea070006e5a5bde79a84",
        ),
        case(
            "response/RoutingSettings",
            61,
            Value::Response(Response::RoutingSettings(RoutingConfig {
                    exclusive: false,
                    no_response_secs: 900,
                    no_response_warn_secs: 60,
                    transfer_timeout_secs: 120,
                    utc_offset_minutes: 480,
                    welcome: vec![WelcomeRule {
                        weekdays: 0b001_1111,
                        start_minute: 540,
                        end_minute: 1080,
                        text: "您好".to_string(),
                    }],
                    busy_reply: Some("稍候".to_string()),
                    away_reply: None,
                })),
            "0000001f 0004 0000 0000003d 01130084073c78c007011f9c04b80806e682a8e5a5bd0106e7a88de5809900",
        ),
        case(
            "response/Contact",
            68,
            Value::Response(Response::Contact(Box::new(contact()))),
            "00000069 0004 0000 00000044 01140007752d31303038360001ea0706e5bca0e4b88906e4b88ae6b5b7027a730d3133382d303031332d38303030147a68616e6773616e406578616d706c652e636f6d0106e585ace58fb80441636d650103020106000180e4ad950dea0701a09cae950d8096a4f70c",
        ),
        case(
            "response/Contact-visitor",
            68,
            Value::Response(Response::Contact(Box::new(visitor_contact()))),
            "00000056 0004 0000 00000044 011401f0e1d2c3b4a5968778695a4b3c2d1e0f010000000000000000000180e4ad950da09cae950d031e68747470733a2f2f7777772e6578616d706c652e636f6d2fe4bbb7e6a0bc06e4b88ae6b5b7000080e4ad950d",
        ),
        case(
            "response/Contacts",
            72,
            Value::Response(Response::Contacts(ContactPage {
                total: 1,
                contacts: vec![contact()],
            })),
            "0000006b 0004 0000 00000048 011501010007752d31303038360001ea0706e5bca0e4b88906e4b88ae6b5b7027a730d3133382d303031332d38303030147a68616e6773616e406578616d706c652e636f6d0106e585ace58fb80441636d650103020106000180e4ad950dea0701a09cae950d8096a4f70c",
        ),
        case(
            "response/Contacts-empty",
            73,
            Value::Response(Response::Contacts(ContactPage {
                total: 0,
                contacts: vec![],
            })),
            "00000004 0004 0000 00000049 01150000",
        ),
        case(
            "response/Deleted",
            71,
            Value::Response(Response::Deleted { count: 2 }),
            "00000003 0004 0000 00000047 011602",
        ),
        case(
            "response/Online",
            76,
            Value::Response(Response::Online(vec![true, false])),
            "00000005 0004 0000 0000004c 0117020100",
        ),
        case(
            "response/Tags",
            77,
            Value::Response(Response::Tags(vec![
                TagInfo {
                    id: 1,
                    name: "重要客户".to_string(),
                    colour: 0x00e5_3935,
                },
                TagInfo {
                    id: 6,
                    name: "VIP".to_string(),
                    colour: 0x00ff_d700,
                },
            ])),
            "0000001e 0004 0000 0000004d 011802010ce9878de8a681e5aea2e688b7b5f29407060356495080aeff07",
        ),
        case(
            "response/Groups",
            82,
            Value::Response(Response::Groups(vec![
                GroupNode::Category {
                    id: 1,
                    name: "客户".to_string(),
                    groups: vec![
                        GroupInfo {
                            id: 3,
                            name: "上海".to_string(),
                        },
                        GroupInfo {
                            id: 4,
                            name: "北京".to_string(),
                        },
                    ],
                },
                GroupNode::Group(GroupInfo {
                    id: 5,
                    name: "同行".to_string(),
                }),
            ])),
            "00000026 0004 0000 00000052 011902000106e5aea2e688b7020306e4b88ae6b5b70406e58c97e4baac010506e5908ce8a18c",
        ),
        case(
            "response/Import",
            91,
            Value::Response(Response::Import(ImportReport {
                imported: 1,
                skipped_existing: 1,
                refused_plan: 0,
                refused_daily: 0,
                invalid: vec![InvalidRow {
                    line: 4,
                    reason: "e-mail: not an address".to_string(),
                }],
                invalid_total: 1,
                finished: true,
            })),
            "00000021 0004 0000 0000005b 011a01010000010416652d6d61696c3a206e6f7420616e20616464726573730101",
        ),
        case(
            "response/Import-in-progress",
            91,
            Value::Response(Response::Import(ImportReport::default())),
            "00000009 0004 0000 0000005b 011a00000000000000",
        ),
        case(
            "response/Export",
            92,
            Value::Response(Response::Export {
                csv: "id,real_name\nu-10086,张三\n".as_bytes().to_vec(),
                next_after: Some(1),
            }),
            "00000021 0004 0000 0000005c 011b1c69642c7265616c5f6e616d650a752d31303038362ce5bca0e4b8890a0101",
        ),
        case(
            "response/Export-last",
            92,
            Value::Response(Response::Export {
                csv: vec![],
                next_after: None,
            }),
            "00000004 0004 0000 0000005c 011b0000",
        ),
        case(
            "response/History",
            93,
            Value::Response(Response::History(HistoryPage {
                messages: vec![
                    message(301, Party::Agent(1002), MessageBody::Text("好的".to_string())),
                    message(300, Party::Customer, MessageBody::Text("在吗？".to_string())),
                ],
                next_before: Some(300),
            })),
            "0000002f 0004 0000 0000005d 011c0211ad028681faedee6601ea070006e5a5bde79a8411ac02b6f1f9edee66000009e59ca8e59097efbc9f01ac02",
        ),
        case(
            "response/History-last",
            94,
            Value::Response(Response::History(HistoryPage {
                messages: vec![],
                next_before: None,
            })),
            "00000004 0004 0000 0000005e 011c0000",
        ),
        case(
            "response/ContactSettings",
            99,
            Value::Response(Response::ContactSettings(contact_settings())),
            "00000020 0004 0000 00000063 011d0115e682a8e59ca8e593aae4b8aae59f8ee5b882efbc9f06e4b88ae6b5b7",
        ),
        case(
            "response/QuickReplies",
            101,
            Value::Response(Response::QuickReplies {
                personal: vec![QuickReply {
                    shortcut: "hi".to_string(),
                    text: "您好，请问有什么可以帮您？".to_string(),
                }],
                shared: quick_replies(),
            }),
            "00000085 0004 0000 00000065 011e0102686927e682a8e5a5bdefbc8ce8afb7e997aee69c89e4bb80e4b988e58fafe4bba5e5b8aee682a8efbc9f0206e4bbb7e6a0bc36e6a087e58786e78988e6af8fe5b9b42039383020e58583efbc8ce4b893e4b89ae78988e6af8fe5b9b420322c39383020e58583e3808203627965135468616e6b20796f752c20676f6f6462796521",
        ),
        case(
            "response/QuickReplies-empty",
            101,
            Value::Response(Response::QuickReplies {
                personal: vec![],
                shared: vec![],
            }),
            "00000004 0004 0000 00000065 011e0000",
        ),
        case(
            "response/Analytics",
            104,
            Value::Response(Response::Analytics(vec![
                AgentFigures {
                    agent: 1001,
                    conversations: 0,
                    messages_sent: 0,
                    messages_received: 0,
                },
                AgentFigures {
                    agent: 1002,
                    conversations: 130,
                    messages_sent: 2_450,
                    messages_received: 3_001,
                },
            ])),
            "00000010 0004 0000 00000068 011f02e907000000ea0782019213b917",
        ),
        case(
            "response/Ticket",
            105,
            Value::Response(Response::Ticket {
                ticket: (0u8..54).collect(),
                expires_at: 1_767_225_900,
            }),
            "0000003e 0004 0000 00000069 012036000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435d8e8ad950d",
        ),
        case(
            "response/BroadcastSent",
            109,
            Value::Response(Response::BroadcastSent { recipients: 10_000 }),
            "00000004 0004 0000 0000006d 0121904e",
        ),
        case(
            "response/AccountPresence-agent",
            120,
            Value::Response(Response::AccountPresence {
                presence: Presence::Away,
                mode: Some(AccountPresenceMode::FromAgents),
            }),
            "00000005 0004 0000 00000078 0122010101",
        ),
        case(
            "response/AccountPresence-customer",
            120,
            Value::Response(Response::AccountPresence {
                presence: Presence::Online,
                mode: None,
            }),
            "00000004 0004 0000 00000078 01220000",
        ),
        case(
            "response/Clock-test-mode",
            122,
            Value::Response(Response::Clock {
                unix_ms: 1_798_243_200_000,
                test_mode: true,
            }),
            "00000009 0004 0000 0000007a 012380b0adfad56801",
        ),
        case(
            "response/Clock-real",
            121,
            Value::Response(Response::Clock {
                unix_ms: 1_767_225_600_123,
                test_mode: false,
            }),
            "00000009 0004 0000 00000079 0123f6a1d5edee6600",
        ),
        case(
            "response/ResumeEnabled",
            124,
            Value::Response(Response::ResumeEnabled {
                token: ResumeToken {
                    session: (1 << 48) | 7,
                    secret: [0xab; 32],
                },
                window_secs: 60,
            }),
            "0000002a 0004 0000 0000007c 012487808080808040abababababababababababababababababababababababababababababababab3c",
        ),
        case(
            "response/Resumed",
            125,
            Value::Response(Response::Resumed { replayed: 3 }),
            "00000003 0004 0000 0000007d 012503",
        ),
        case(
            "response/Metrics",
            127,
            Value::Response(Response::Metrics {
                text: "kefu_connections 3\n".to_string(),
            }),
            "00000016 0004 0000 0000007f 0126136b6566755f636f6e6e656374696f6e7320330a",
        ),
        case(
            "response/StorageCheck",
            128,
            Value::Response(Response::StorageCheck(StorageCheck {
                data_dir: "/var/lib/kefu".to_string(),
                writable: true,
                error: String::new(),
                synced_write_us: 1_500,
                free_bytes: 1 << 30,
                total_bytes: 1 << 34,
                disk_full: false,
            })),
            "0000001f 0004 0000 00000080 01270d2f7661722f6c69622f6b6566750100dc0b8080808004808080804000",
        ),
        case(
            "response/AccountDeleted",
            129,
            Value::Response(Response::AccountDeleted {
                sessions_closed: 2,
                tokens_removed: 1,
            }),
            "00000004 0004 0000 00000081 01280201",
        ),
        case(
            "response/DesignatedAgent",
            126,
            Value::Response(Response::DesignatedAgent(DesignatedSettings {
                mode: DesignatedMode::Agents,
                hide_offline: false,
                no_response: true,
            })),
            "00000005 0004 0000 0000007e 0129010001",
        ),
        case(
            "response/Choices",
            128,
            Value::Response(Response::Choices(ChoiceList {
                agents: vec![AgentChoice {
                    agent: 1001,
                    name: "销售小王".to_string(),
                    presence: Presence::Away,
                }],
                groups: vec![GroupChoice {
                    name: "售后".to_string(),
                    online: true,
                }],
                previous: Some(1002),
            })),
            "0000001f 0004 0000 00000080 012a01e9070ce99480e594aee5b08fe78e8b010106e594aee5908e0101ea07",
        ),
        case(
            "response/Backup",
            128,
            Value::Response(Response::Backup(backup_info(Some(1_234)))),
            "0000000f 0004 0000 00000080 012b03808ef8b20d8080400c01d209",
        ),
        case(
            "response/Backups",
            127,
            Value::Response(Response::Backups(vec![backup_info(None)])),
            "0000000e 0004 0000 0000007f 012c0103808ef8b20d8080400c00",
        ),
        case(
            "response/AgentGroups",
            126,
            Value::Response(Response::AgentGroups(vec![
                AgentGroup {
                    name: "售前".to_string(),
                    agents: vec![AgentInfo {
                        agent: 1002,
                        nickname: "小李".to_string(),
                        role: 3,
                        has_password: true,
                        presence: Presence::Online,
                    }],
                },
                AgentGroup {
                    name: String::new(),
                    agents: vec![AgentInfo {
                        agent: 1001,
                        nickname: "小王".to_string(),
                        role: 1,
                        has_password: true,
                        presence: Presence::Away,
                    }],
                },
            ])),
            "00000025 0004 0000 0000007e 012d0206e594aee5898d01ea0706e5b08fe69d8e0301000001e90706e5b08fe78e8b010101",
        ),
        case(
            "response/ServingAgent",
            127,
            Value::Response(Response::ServingAgent(Some(ShownAgent {
                agent: 1002,
                shown_as: "小李".to_string(),
            }))),
            "0000000c 0004 0000 0000007f 012e01ea0706e5b08fe69d8e",
        ),
        case(
            "response/ServingAgent-number",
            128,
            Value::Response(Response::ServingAgent(Some(ShownAgent {
                agent: 1002,
                shown_as: "1002".to_string(),
            }))),
            "0000000a 0004 0000 00000080 012e01ea070431303032",
        ),
        case(
            "response/ServingAgent-none",
            129,
            Value::Response(Response::ServingAgent(None)),
            "00000003 0004 0000 00000081 012e00",
        ),
        case(
            "response/AgentPrefs",
            126,
            Value::Response(Response::AgentPrefs(AgentPrefs::default())),
            "00000005 0004 0000 0000007e 012f000100",
        ),
        case(
            "response/ReminderSettings",
            128,
            Value::Response(Response::ReminderSettings(ReminderSettings::default())),
            "00000003 0004 0000 00000080 01305a",
        ),
        case(
            "response/ContactOwners",
            131,
            Value::Response(Response::ContactOwners {
                owner: Some(1001),
                exclusive_owner: Some(1002),
            }),
            "00000008 0004 0000 00000083 013101e90701ea07",
        ),
        case(
            "response/IdleSettings",
            131,
            Value::Response(Response::IdleSettings(IdleSettings::default())),
            "00000033 0004 0000 00000083 01320105002de8afb7e997aee682a8e8bf98e69c89e585b6e4bb96e997aee9a298e99c80e8a681e592a8e8afa2e59097efbc9f",
        ),
        case(
            "response/IdleConversations",
            133,
            Value::Response(Response::IdleConversations(vec![IdleInfo {
                conversation: 7,
                idle: true,
                since: 1_800_000_000_000,
                prompted: true,
            }])),
            "0000000c 0004 0000 00000085 013301070180c0e285e36801",
        ),
        case(
            "response/InternalMessages",
            135,
            Value::Response(Response::InternalMessages(vec![InternalMessage {
                id: 9,
                from: 1001,
                to: 1002,
                at: 1_800_000_000_000,
                text: "开会".to_string(),
            }])),
            "00000015 0004 0000 00000087 01340109e907ea0780c0e285e36806e5bc80e4bc9a",
        ),
        case(
            "response/NavigationMenu",
            137,
            Value::Response(Response::NavigationMenu(menu())),
            "00000053 0004 0000 00000089 0135010209e8afb7e98089e68ba90403e7bd91000d68747470733a2f2f652e636e2f03e697b60106e4b99de782b903e4baba0403e4b88b050106e4baa7e593810203e78e8b02ea0703e7bb84030573616c6573",
        ),
        case(
            "response/MenuStep/Prompt",
            139,
            Value::Response(Response::MenuStep(MenuStep::Prompt(menu_prompt()))),
            "00000015 0004 0000 0000008b 013600070106e4baa7e593810203e78e8b03e7bb84",
        ),
        case(
            "response/MenuStep/OpenUrl",
            139,
            Value::Response(Response::MenuStep(MenuStep::OpenUrl {
                url: "https://e.cn/".to_string(),
            })),
            "00000011 0004 0000 0000008b 0136010d68747470733a2f2f652e636e2f",
        ),
        case(
            "response/MenuStep/AutoReply",
            139,
            Value::Response(Response::MenuStep(MenuStep::AutoReply {
                text: "九点".to_string(),
            })),
            "0000000a 0004 0000 0000008b 01360206e4b99de782b9",
        ),
        case(
            "response/MenuStep/Routed",
            139,
            Value::Response(Response::MenuStep(MenuStep::Routed(conversation(
                identified(),
                Channel::Web,
                ConversationState::Queued { target: None },
            )))),
            "00000017 0004 0000 0000008b 013603110007752d3130303836010000f6a1d5edee6600",
        ),
        case(
            "response/MenuPath",
            140,
            Value::Response(Response::MenuPath(menu_path())),
            "0000000c 0004 0000 0000008c 0137070203e4b88b03e7bb84",
        ),
        case(
            "response/Conversation/InMenu",
            5,
            Value::Response(Response::Conversation(conversation(
                identified(),
                Channel::Web,
                ConversationState::InMenu,
            ))),
            "00000015 0004 0000 00000005 010d110007752d31303038360103f6a1d5edee6600",
        ),
        case(
            "response/SpamFilter",
            137,
            Value::Response(Response::SpamFilter(SpamLevel::Medium)),
            "00000003 0004 0000 00000089 013802",
        ),
        case(
            "response/Muted",
            142,
            Value::Response(Response::Muted(vec![CustomerId::Identified(
                "u-1".to_string(),
            )])),
            "00000008 0004 0000 0000008e 0139010003752d31",
        ),
        case(
            "response/SmsQueued",
            137,
            Value::Response(Response::SmsQueued {
                sms: 3,
                segments: 2,
                duplicate: false,
            }),
            "00000005 0004 0000 00000089 013a030200",
        ),
        case(
            "response/SmsBalance",
            138,
            Value::Response(Response::SmsBalance(SmsBalance {
                units: 97,
                reserved: 2,
                spent: 1,
                refunded: 0,
                failed_attempts: 4,
            })),
            "00000007 0004 0000 0000008a 013b6102010004",
        ),
        case(
            "response/SmsDeadLetters",
            140,
            Value::Response(Response::SmsDeadLetters(vec![SmsDeadLetter {
                sms: 3,
                conversation: 7,
                customer: identified(),
                agent: 1002,
                phone: "+86 1".to_string(),
                text: "在吗".to_string(),
                segments: 1,
                attempts: 5,
                last_error: "500".to_string(),
                queued_at: 1_800_000_000_000,
                dead_at: 1_800_000_060_000,
            }])),
            "0000002f 0004 0000 0000008c 013c0103070007752d3130303836ea07052b3836203106e59ca8e5909701050335303080c0e285e368c0e9e985e368",
        ),
        case(
            "response/FileTransfer",
            137,
            Value::Response(Response::FileTransfer { transfer: 5 }),
            "00000003 0004 0000 00000089 013d05",
        ),
        case(
            "response/Upload",
            142,
            Value::Response(Response::Upload {
                upload: 6,
                offset: 65_536,
            }),
            "00000006 0004 0000 0000008e 013e06808004",
        ),
        case(
            "response/OfflineFileStored",
            144,
            Value::Response(Response::OfflineFileStored { file: 3 }),
            "00000003 0004 0000 00000090 013f03",
        ),
        case(
            "response/OfflineFiles",
            145,
            Value::Response(Response::OfflineFiles(vec![OfflineFileInfo {
                file: 3,
                from: Party::Agent(1001),
                meta: FileMeta {
                    name: "a.pdf".to_string(),
                    size: 70_000,
                    sha256: [0xab; 32],
                    image: false,
                },
                at: 1_800_000_000_000,
                token: [0x11; 32],
            }])),
            "00000057 0004 0000 00000091 0140010301e90705612e706466f0a204abababababababababababababababababababababababababababababababab0080c0e285e3681111111111111111111111111111111111111111111111111111111111111111",
        ),
        case(
            "response/Fetch",
            146,
            Value::Response(Response::Fetch {
                fetch: 8,
                file: OfflineFileInfo {
                file: 3,
                from: Party::Agent(1001),
                meta: FileMeta {
                    name: "a.pdf".to_string(),
                    size: 70_000,
                    sha256: [0xab; 32],
                    image: false,
                },
                at: 1_800_000_000_000,
                token: [0x11; 32],
            },
            }),
            "00000057 0004 0000 00000092 0141080301e90705612e706466f0a204abababababababababababababababababababababababababababababababab0080c0e285e3681111111111111111111111111111111111111111111111111111111111111111",
        ),
        case(
            "response/FileData",
            147,
            Value::Response(Response::FileData {
                offset: 65_536,
                data: b"abc".to_vec(),
            }),
            "00000009 0004 0000 00000093 014280800403616263",
        ),
        case(
            "response/Balance",
            137,
            Value::Response(Response::Balance(BalanceInfo {
                available: 991,
                reserved: 6,
                topped_up: 1_000,
                settled: 3,
                refunded: 3,
                points: 3,
            })),
            "0000000a 0004 0000 00000089 0143df0706e807030303",
        ),
        case(
            "response/Broadcast",
            138,
            Value::Response(Response::Broadcast(Box::new(BroadcastInfo {
                id: 1,
                agent: 1002,
                draft: BroadcastDraft {
                groups: vec![3],
                customers: vec![CustomerId::Identified("u-1".into())],
                body: MessageBody::Text("双十一".into()),
                online_only: true,
                block_replies: false,
                send_at: Some(1_800_000_000_000),
            },
                state: BroadcastState::PendingReview,
                recipients: 2,
                sent: 0,
                reserved: 2,
                submitted_at: 1_800_000_000_000,
                cancelled: Some((1002, 1_800_000_000_001)),
                reason: Some("虚假".into()),
            }))),
            "0000003c 0004 0000 0000008a 014401ea070103010003752d310009e58f8ce58d81e4b88001000180c0e285e3680002000280c0e285e36801ea0782c0e285e3680106e8999ae58187",
        ),
        case(
            "response/Broadcasts",
            139,
            Value::Response(Response::Broadcasts(vec![BroadcastInfo {
                id: 1,
                agent: 1002,
                draft: BroadcastDraft {
                groups: vec![3],
                customers: vec![CustomerId::Identified("u-1".into())],
                body: MessageBody::Text("双十一".into()),
                online_only: true,
                block_replies: false,
                send_at: Some(1_800_000_000_000),
            },
                state: BroadcastState::PendingReview,
                recipients: 2,
                sent: 0,
                reserved: 2,
                submitted_at: 1_800_000_000_000,
                cancelled: Some((1002, 1_800_000_000_001)),
                reason: Some("虚假".into()),
            }])),
            "0000003d 0004 0000 0000008b 01450101ea070103010003752d310009e58f8ce58d81e4b88001000180c0e285e3680002000280c0e285e36801ea0782c0e285e3680106e8999ae58187",
        ),
        case(
            "response/EntryCodes",
            140,
            Value::Response(Response::EntryCodes(vec![entry_code()])),
            "00000034 0004 0000 0000008c 0146010206e9a696e9a1b5010206e594aee5908e0d68747470733a2f2f612e636e2f04412d30330180c0e285e36882c0e285e368",
        ),
        case(
            "response/EntryCode",
            141,
            Value::Response(Response::EntryCode(entry_code())),
            "00000033 0004 0000 0000008d 01470206e9a696e9a1b5010206e594aee5908e0d68747470733a2f2f612e636e2f04412d30330180c0e285e36882c0e285e368",
        ),
        case(
            "response/PublicEntryCode",
            142,
            Value::Response(Response::PublicEntryCode(PublicEntryCode {
                id: 2,
                kind: CodeKind::Fixed,
                style: "A-03".into(),
                anonymous: true,
            })),
            "0000000a 0004 0000 0000008e 0148020004412d303301",
        ),
        case(
            "response/SiteVisitors",
            143,
            Value::Response(Response::SiteVisitors(vec![site_visitor()])),
            "0000003a 0004 0000 0000008f 014901010707070707070707070707070707070780c0e285e3680d68747470733a2f2f612e636e2f06e9a696e9a1b50106e5aea2e69c8d020000",
        ),
        case(
            "response/VisitorTrail",
            144,
            Value::Response(Response::VisitorTrail(VisitorTrail {
                visitor: CustomerId::Visitor([7; 16]),
                pages: vec![PageVisit {
                    url: "https://a.cn/".into(),
                    title: "首页".into(),
                    referrer: "https://www.baidu.com/s?wd=a".into(),
                    at: 1_800_000_000_000,
                    dwell_ms: Some(5_000),
                }],
                keywords: vec!["a".into()],
                menu_path: vec!["售前".into()],
                region: None,
            })),
            "0000005b 0004 0000 00000090 014a0107070707070707070707070707070707010d68747470733a2f2f612e636e2f06e9a696e9a1b51c68747470733a2f2f7777772e62616964752e636f6d2f733f77643d6180c0e285e36801904e0101610106e594aee5898d00",
        ),
        case(
            "response/Invited",
            145,
            Value::Response(Response::Invited { invitation: 3 }),
            "00000003 0004 0000 00000091 014b03",
        ),
        case(
            "response/AutoInviteSettings",
            146,
            Value::Response(Response::AutoInviteSettings(AutoInviteSettings {
                enabled: false,
                after_secs: 30,
                text: "您好".into(),
            })),
            "0000000b 0004 0000 00000092 014c001e06e682a8e5a5bd",
        ),
        case(
            "response/VisitTrend",
            147,
            Value::Response(Response::VisitTrend(vec![visit_day()])),
            "0000000a 0004 0000 00000093 014d01e69f0104020601",
        ),
        case(
            "response/SiteAnalytics",
            148,
            Value::Response(Response::SiteAnalytics(SiteAnalytics {
                days: vec![visit_day()],
                referrers: vec![NamedCount { name: "baidu.com".into(), count: 2 }],
                regions: vec![],
            })),
            "00000017 0004 0000 00000094 014e01e69f0104020601010962616964752e636f6d0200",
        ),
        case(
            "response/WorkReport",
            140,
            Value::Response(Response::WorkReport(vec![WorkReportRow {
                date: DAY,
                agent: 1001,
                conversations: 3,
                customers: 2,
            }])),
            "0000000b 0004 0000 0000008c 014f01ea0f0c07e9070302",
        ),
        case(
            "response/Survey",
            141,
            Value::Response(Response::Survey(Box::new(survey_info()))),
            "00000039 0004 0000 0000008d 015001ea0709e6bba1e6848fe5baa606e8b0a2e8b0a201030106e5a5bde59097010203e5a5bd03e590a60180c0e285e3680182c0e285e36802",
        ),
        case(
            "response/Surveys",
            142,
            Value::Response(Response::Surveys(vec![survey_info()])),
            "0000003a 0004 0000 0000008e 01510101ea0709e6bba1e6848fe5baa606e8b0a2e8b0a201030106e5a5bde59097010203e5a5bd03e590a60180c0e285e3680182c0e285e36802",
        ),
        case(
            "response/SurveyResult",
            143,
            Value::Response(Response::SurveyResult(Box::new(SurveyResult {
                survey: survey_info(),
                counts: vec![vec![2, 1]],
                ratios: vec![vec![10_000, 5_000]],
            }))),
            "00000043 0004 0000 0000008f 015201ea0709e6bba1e6848fe5baa606e8b0a2e8b0a201030106e5a5bde59097010203e5a5bd03e590a60180c0e285e3680182c0e285e36802010202010102904e8827",
        ),
        case(
            "response/SurveyForms",
            144,
            Value::Response(Response::SurveyForms(vec![SurveyForm {
                id: 1,
                title: "满意度".into(),
                background: "谢谢".into(),
                questions: survey_draft().questions,
            }])),
            "00000027 0004 0000 00000090 0153010109e6bba1e6848fe5baa606e8b0a2e8b0a20106e5a5bde59097010203e5a5bd03e590a6",
        ),
        case(
            "response/ExportData",
            145,
            Value::Response(Response::ExportData(ExportChunk {
                export: 1,
                index: 0,
                total: 1,
                size: 3,
                data: b"a,b".to_vec(),
                last: true,
            })),
            "0000000b 0004 0000 00000091 01540100010303612c6201",
        ),
        case(
            "response/CsatSettings",
            147,
            Value::Response(Response::CsatSettings(csat_settings())),
            "00000012 0004 0000 00000093 01550102010103e685a201066140622e636e",
        ),
        case(
            "response/CsatReport",
            150,
            Value::Response(Response::CsatReport(CsatReportPage {
                from: 20_788,
                to: 20_794,
                lines: vec![CsatAgentLine { agent: 1002, counts: [1, 0, 0, 0, 1] }],
                detail: vec![CsatRating {
                    day: 20_794,
                    at: 1_800_000_000_000,
                    customer: CustomerId::Identified("u-1".into()),
                    agent: 1002,
                    conversation: 7,
                    rating: 1,
                    reasons: vec!["慢".into()],
                    text: "差".into(),
                }],
                next: None,
            })),
            "0000002d 0004 0000 00000096 0156e8c402f4c40201ea07010000000101f4c40280c0e285e3680003752d31ea0707010103e685a203e5b7ae00",
        ),
        case(
            "response/AllowedOrigins",
            152,
            Value::Response(Response::AllowedOrigins(AllowedOrigins {
                explicit: vec!["https://shop.example.com".into()],
                from_codes: vec!["http://127.0.0.1:8080".into()],
            })),
            "00000033 0004 0000 00000098 0157011868747470733a2f2f73686f702e6578616d706c652e636f6d0115687474703a2f2f3132372e302e302e313a38303830",
        ),
        case(
            "response/BroadcastPage",
            151,
            Value::Response(Response::BroadcastPage(BroadcastPage {
                items: vec![broadcast_summary()],
                next: Some(1),
            })),
            "00000031 0004 0000 00000097 01580101ea07000009e58f8ce58d81e4b8800103d0860301000180c0e285e368d1860300d1860380c0e285e36800000101",
        ),
        case(
            "response/BroadcastCustomers",
            152,
            Value::Response(Response::BroadcastCustomers(BroadcastCustomers {
                total: 50_000,
                customers: vec![CustomerId::Identified("u-1".into())],
                next: Some(1_001),
            })),
            "0000000e 0004 0000 00000098 0159d08603010003752d3101e907",
        ),
        case(
            "response/BroadcastReviews",
            153,
            Value::Response(Response::BroadcastReviews(ReviewPage {
                items: vec![BroadcastReview { account: 800_001, summary: broadcast_summary() }],
                next: None,
            })),
            "00000033 0004 0000 00000099 015a0181ea3001ea07000009e58f8ce58d81e4b8800103d0860301000180c0e285e368d1860300d1860380c0e285e368000000",
        ),
        case(
            "response/EnterpriseProfile",
            154,
            Value::Response(Response::EnterpriseProfile(Box::new(Reviewed {
                current: Some(enterprise_profile()),
                pending: Some(Submitted { edit: enterprise_profile(), at: 1_000 }),
                rejected: Some(Rejected { edit: enterprise_profile(), reason: "不符".into(), at: 2_000 }),
            }))),
            "00000088 0004 0000 0000009a 015b0106e4bc81e4b89a03e4bc8102495406e4b88ae6b5b7033032310c68747470733a2f2f612e636e01780106e4bc81e4b89a03e4bc8102495406e4b88ae6b5b7033032310c68747470733a2f2f612e636e0178d00f0106e4bc81e4b89a03e4bc8102495406e4b88ae6b5b7033032310c68747470733a2f2f612e636e017806e4b88de7aca6a01f",
        ),
        case(
            "response/ChatWindowStyle",
            155,
            Value::Response(Response::ChatWindowStyle(Box::new(Reviewed {
                current: Some(window_style()),
                pending: None,
                rejected: None,
            }))),
            "0000002d 0004 0000 0000009b 015c0106e5aea2e69c8d06e682a8e5a5bd07233136373766660003e5ba970c68747470733a2f2f612e636e0000",
        ),
        case(
            "response/WindowStyle",
            156,
            Value::Response(Response::WindowStyle(Some(window_style()))),
            "0000002b 0004 0000 0000009c 015d0106e5aea2e69c8d06e682a8e5a5bd07233136373766660003e5ba970c68747470733a2f2f612e636e",
        ),
        case(
            "response/ProfileReviews",
            157,
            Value::Response(Response::ProfileReviews(ProfileReviewPage {
                items: vec![ProfileReview {
                    account: 800_001,
                    submitted_at: 1_000,
                    subject: ReviewSubject::Style(window_style()),
                }],
                next: None,
            })),
            "00000032 0004 0000 0000009d 015e0181ea30d00f0106e5aea2e69c8d06e682a8e5a5bd07233136373766660003e5ba970c68747470733a2f2f612e636e00",
        ),
        case(
            "response/AccountExport",
            158,
            Value::Response(Response::AccountExport(AccountExport {
                pair: "b".into(),
                entries: vec![account_entry()],
                next: Some(account_cursor()),
            })),
            "0000002e 0004 0000 0000009e 015f016201086163636f756e74730800000000000c350102010201086d657373616765730900000000000c350107",
        ),
        case(
            "response/AccountChanges",
            166,
            Value::Response(Response::AccountChanges(AccountChanges {
                after: 300,
                upto: 302,
                latest: 305,
                changes: account_changes(),
            })),
            "00000048 0004 0000 000000a6 0160ac02ae02b1020400086163636f756e74730800000000000c350102010201066167656e74730800000000000c350102037765620800000000000c35010800000000000c350203",
        ),
        // Errors: the answer to a request, about the connection, and a code unknown today.
        case(
            "error/request",
            1,
            Value::Error(ErrorBody {
                code: ErrorCode::WRONG_PASSWORD,
                message: "wrong password".to_string(),
            }),
            "00000011 0005 0000 00000001 010b0e77726f6e672070617373776f7264",
        ),
        case(
            "error/connection",
            0,
            Value::Error(ErrorBody {
                code: ErrorCode::UNSUPPORTED_VERSION,
                message: "server speaks 1..=1".to_string(),
            }),
            "00000016 0005 0000 00000000 01031373657276657220737065616b7320312e2e3d31",
        ),
        case(
            "error/throttled",
            2,
            Value::Error(ErrorBody {
                code: ErrorCode::LOGIN_THROTTLED,
                message: "too many failed logins; retry in 300 s".to_string(),
            }),
            "00000029 0005 0000 00000002 012126746f6f206d616e79206661696c6564206c6f67696e733b20726574727920696e203330302073",
        ),
        case(
            "error/unknown-customer",
            3,
            Value::Error(ErrorBody {
                code: ErrorCode::UNKNOWN_CUSTOMER,
                message: "the account has never seen this customer".to_string(),
            }),
            "0000002b 0005 0000 00000003 013128746865206163636f756e7420686173206e65766572207365656e207468697320637573746f6d6572",
        ),
        case(
            "error/unknown-backup",
            4,
            Value::Error(ErrorBody {
                code: ErrorCode::UNKNOWN_BACKUP,
                message: "no backup 9".to_string(),
            }),
            "0000000e 0005 0000 00000004 01500b6e6f206261636b75702039",
        ),
        case(
            "error/unknown-code",
            9,
            Value::Error(ErrorBody {
                code: ErrorCode(1000),
                message: String::new(),
            }),
            "00000004 0005 0000 00000009 01e80700",
        ),
        // Pushes, one per `Event` variant.
        case(
            "push/PresenceChanged",
            0,
            Value::Push(Push {
                seq: 1,
                event: Event::PresenceChanged {
                    agent: 1002,
                    presence: Presence::Offline,
                },
            }),
            "00000006 0006 0000 00000000 010100ea0703",
        ),
        case(
            "push/Notice",
            0,
            Value::Push(Push {
                seq: 300,
                event: Event::Notice {
                    text: "账号将于 30 天后到期".to_string(),
                },
            }),
            "00000021 0006 0000 00000000 01ac02011ce8b4a6e58fb7e5b086e4ba8e20333020e5a4a9e5908ee588b0e69c9f",
        ),
        case(
            "push/PresenceChanges",
            0,
            Value::Push(Push {
                seq: 2,
                event: Event::PresenceChanges(vec![
                    PresenceChange {
                        agent: 1002,
                        presence: Presence::Online,
                    },
                    PresenceChange {
                        agent: 1003,
                        presence: Presence::Away,
                    },
                ]),
            }),
            "0000000a 0006 0000 00000000 01020202ea0700eb0701",
        ),
        case(
            "push/Message",
            0,
            Value::Push(Push {
                seq: 3,
                event: Event::Message(message(
                    301,
                    Party::Customer,
                    MessageBody::Text("你好 👋".to_string()),
                )),
            }),
            "0000001a 0006 0000 00000000 01030311ad028681faedee6600000be4bda0e5a5bd20f09f918b",
        ),
        case(
            "push/ConversationChanged",
            0,
            Value::Push(Push {
                seq: 4,
                event: Event::ConversationChanged(conversation(
                    identified(),
                    Channel::Desktop,
                    ConversationState::Closed,
                )),
            }),
            "00000016 0006 0000 00000000 010404110007752d31303038360002f6a1d5edee6600",
        ),
        case(
            "push/ConversationAlert-warning",
            0,
            Value::Push(Push {
                seq: 5,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::NoResponseWarning { offer_at: 1_800_000_060_000 },
                },
            }),
            "0000000b 0006 0000 00000000 0105051100c0e9e985e368",
        ),
        case(
            "push/ConversationAlert-choose",
            0,
            Value::Push(Push {
                seq: 6,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::ChooseAgain {
                        agents: vec![(1002, Presence::Online)],
                        groups: vec!["售后".to_string()],
                    },
                },
            }),
            "00000011 0006 0000 00000000 010605110101ea07000106e594aee5908e",
        ),
        case(
            "push/ConversationAlert-others",
            0,
            Value::Push(Push {
                seq: 7,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::TransferOffered { from: 1001, deadline: 1_800_000_120_000 },
                },
            }),
            "0000000d 0006 0000 00000000 0107051103e9078093f185e368",
        ),
        case(
            "push/ConversationAlert-served-by",
            0,
            Value::Push(Push {
                seq: 14,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::ServedBy {
                        agent: 1001,
                        name: "销售小王".to_string(),
                    },
                },
            }),
            "00000014 0006 0000 00000000 010e051105e9070ce99480e594aee5b08fe78e8b",
        ),
        case(
            "push/ConversationAlert-waiting-for-agent",
            0,
            Value::Push(Push {
                seq: 15,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::WaitingForAgent {
                        agent: 1001,
                        name: "1001".to_string(),
                    },
                },
            }),
            "0000000c 0006 0000 00000000 010f051106e9070431303031",
        ),
        case(
            "push/ConversationAlert-warning-cleared",
            0,
            Value::Push(Push {
                seq: 16,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::NoResponseCleared,
                },
            }),
            "00000005 0006 0000 00000000 0110051107",
        ),
        case(
            "push/ConversationAlert-grabbed-by",
            0,
            Value::Push(Push {
                seq: 17,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::GrabbedBy { by: 1003 },
                },
            }),
            "00000007 0006 0000 00000000 0111051108eb07",
        ),
        case(
            "push/ConversationAlert-transfer-completed",
            0,
            Value::Push(Push {
                seq: 18,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::TransferCompleted { to: 1002 },
                },
            }),
            "00000007 0006 0000 00000000 0112051109ea07",
        ),
        case(
            "push/ConversationAlert-transfer-waiting",
            0,
            Value::Push(Push {
                seq: 19,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::TransferWaiting {
                        to: 1002,
                        deadline: 1_800_000_120_000,
                    },
                },
            }),
            "0000000d 0006 0000 00000000 011305110aea078093f185e368",
        ),
        case(
            "push/ConversationAlert-nobody-online",
            0,
            Value::Push(Push {
                seq: 20,
                event: Event::ConversationAlert {
                    conversation: 17,
                    alert: Alert::NobodyOnline {
                        phones: vec![ShownAgent {
                            agent: 1002,
                            shown_as: "小张".to_string(),
                        }],
                    },
                },
            }),
            "0000000f 0006 0000 00000000 011405110b01ea0706e5b08fe5bca0",
        ),
        case(
            "push/ContactNotice-AddedUs",
            0,
            Value::Push(Push {
                seq: 8,
                event: Event::ContactNotice(ContactNotice::AddedUs {
                    customer: identified(),
                }),
            }),
            "0000000d 0006 0000 00000000 010806000007752d3130303836",
        ),
        case(
            "push/ContactNotice-Answered",
            0,
            Value::Push(Push {
                seq: 9,
                event: Event::ContactNotice(ContactNotice::Answered {
                    customer: CustomerId::Visitor(VISITOR),
                    accepted: false,
                }),
            }),
            "00000016 0006 0000 00000000 0109060101f0e1d2c3b4a5968778695a4b3c2d1e0f00",
        ),
        case(
            "push/ContactNotice-FriendRequest",
            0,
            Value::Push(Push {
                seq: 10,
                event: Event::ContactNotice(ContactNotice::FriendRequest {
                    account: 800_001,
                    note: "您好，我是 Acme 客服小李".to_string(),
                }),
            }),
            "00000029 0006 0000 00000000 010a060281ea3021e682a8e5a5bdefbc8ce68891e698af2041636d6520e5aea2e69c8de5b08fe69d8e",
        ),
        case(
            "push/Signal-from-customer",
            0,
            Value::Push(Push {
                seq: 11,
                event: Event::Signal {
                    conversation: 17,
                    from: Party::Customer,
                    signal: Signal::TypingStarted,
                },
            }),
            "00000006 0006 0000 00000000 010b07110000",
        ),
        case(
            "push/Signal-from-agent",
            0,
            Value::Push(Push {
                seq: 12,
                event: Event::Signal {
                    conversation: 17,
                    from: Party::Agent(1002),
                    signal: call_signal(CallKind::Video, CallPhase::Offer, b"v=0"),
                },
            }),
            "00000010 0006 0000 00000000 010c071101ea07030100ac0203763d30",
        ),
        case(
            "push/AccountPresenceChanged",
            0,
            Value::Push(Push {
                seq: 13,
                event: Event::AccountPresenceChanged {
                    presence: Presence::Busy,
                },
            }),
            "00000004 0006 0000 00000000 010d0802",
        ),
        case(
            "push/IdleChanged",
            0,
            Value::Push(Push {
                seq: 14,
                event: Event::IdleChanged(IdleInfo {
                    conversation: 7,
                    idle: false,
                    since: 1_800_000_000_000,
                    prompted: false,
                }),
            }),
            "0000000c 0006 0000 00000000 010e09070080c0e285e36800",
        ),
        case(
            "push/InternalMessage",
            0,
            Value::Push(Push {
                seq: 15,
                event: Event::InternalMessage(InternalMessage {
                    id: 9,
                    from: 1001,
                    to: 1002,
                    at: 1_800_000_000_000,
                    text: "开会".to_string(),
                }),
            }),
            "00000015 0006 0000 00000000 010f0a09e907ea0780c0e285e36806e5bc80e4bc9a",
        ),
        case(
            "push/MenuShown",
            0,
            Value::Push(Push {
                seq: 16,
                event: Event::MenuShown(menu_prompt()),
            }),
            "00000015 0006 0000 00000000 01100b070106e4baa7e593810203e78e8b03e7bb84",
        ),
        case(
            "push/MenuPath",
            0,
            Value::Push(Push {
                seq: 17,
                event: Event::MenuPath(menu_path()),
            }),
            "0000000d 0006 0000 00000000 01110c070203e4b88b03e7bb84",
        ),
        case(
            "push/QuietMessage",
            0,
            Value::Push(Push {
                seq: 16,
                event: Event::QuietMessage(message(
                    301,
                    Party::Customer,
                    MessageBody::Text("你好 👋".to_string()),
                )),
            }),
            "0000001a 0006 0000 00000000 01100d11ad028681faedee6600000be4bda0e5a5bd20f09f918b",
        ),
        case(
            "push/FileOffered",
            0,
            Value::Push(Push {
                seq: 16,
                event: Event::FileOffered {
                    transfer: 5,
                    from: Party::Agent(1001),
                    conversation: Some(7),
                    meta: FileMeta {
                    name: "a.pdf".to_string(),
                    size: 70_000,
                    sha256: [0xab; 32],
                    image: false,
                },
                },
            }),
            "00000033 0006 0000 00000000 01100e0501e907010705612e706466f0a204abababababababababababababababababababababababababababababababab00",
        ),
        case(
            "push/FileCredit",
            0,
            Value::Push(Push {
                seq: 17,
                event: Event::FileCredit {
                    transfer: 5,
                    window_end: 131_072,
                },
            }),
            "00000007 0006 0000 00000000 01110f05808008",
        ),
        case(
            "push/FileChunk",
            0,
            Value::Push(Push {
                seq: 18,
                event: Event::FileChunk {
                    transfer: 5,
                    offset: 0,
                    data: b"abc".to_vec(),
                },
            }),
            "00000009 0006 0000 00000000 011210050003616263",
        ),
        case(
            "push/FileEnded",
            0,
            Value::Push(Push {
                seq: 19,
                event: Event::FileEnded {
                    transfer: 5,
                    reason: FileEnd::PeerGone,
                },
            }),
            "00000005 0006 0000 00000000 0113110502",
        ),
        case(
            "push/OfflineFile",
            0,
            Value::Push(Push {
                seq: 20,
                event: Event::OfflineFile(OfflineFileInfo {
                file: 3,
                from: Party::Agent(1001),
                meta: FileMeta {
                    name: "a.pdf".to_string(),
                    size: 70_000,
                    sha256: [0xab; 32],
                    image: false,
                },
                at: 1_800_000_000_000,
                token: [0x11; 32],
            }),
            }),
            "00000057 0006 0000 00000000 0114120301e90705612e706466f0a204abababababababababababababababababababababababababababababababab0080c0e285e3681111111111111111111111111111111111111111111111111111111111111111",
        ),
        case(
            "push/FromBroadcast",
            0,
            Value::Push(Push {
                seq: 21,
                event: Event::FromBroadcast { broadcast: 2, message: 900, replies_blocked: true },
            }),
            "00000007 0006 0000 00000000 01151302840701",
        ),
        case(
            "push/BroadcastPreview",
            0,
            Value::Push(Push {
                seq: 22,
                event: Event::BroadcastPreview { from: 1002, body: MessageBody::Text("双十一".into()) },
            }),
            "00000010 0006 0000 00000000 011614ea070009e58f8ce58d81e4b880",
        ),
        case(
            "push/Invitation",
            0,
            Value::Push(Push {
                seq: 21,
                event: Event::Invitation(Invitation {
                    invitation: 3,
                    agent: 1002,
                    text: "您好".into(),
                    automatic: false,
                }),
            }),
            "0000000e 0006 0000 00000000 01151503ea0706e682a8e5a5bd00",
        ),
        case(
            "push/VisitorArrived",
            0,
            Value::Push(Push { seq: 22, event: Event::VisitorArrived(site_visitor()) }),
            "0000003a 0006 0000 00000000 011616010707070707070707070707070707070780c0e285e3680d68747470733a2f2f612e636e2f06e9a696e9a1b50106e5aea2e69c8d020000",
        ),
        case(
            "push/CsatSurvey",
            0,
            Value::Push(Push {
                seq: 21,
                event: Event::CsatSurvey(CsatSurvey {
                    conversation: 7,
                    style: CsatStyle::Stars,
                    labels: vec!["★".into()],
                    reasons: vec!["慢".into()],
                }),
            }),
            "0000000f 0006 0000 00000000 01151707010103e298850103e685a2",
        ),
        case(
            "push/SurveyBroadcast",
            0,
            Value::Push(Push {
                seq: 22,
                event: Event::SurveyBroadcast {
                    broadcast: 4,
                    form: SurveyForm {
                        id: 2,
                        title: "满意度".into(),
                        background: "谢谢".into(),
                        questions: survey_draft().questions,
                    },
                },
            }),
            "00000028 0006 0000 00000000 011618040209e6bba1e6848fe5baa606e8b0a2e8b0a20106e5a5bde59097010203e5a5bd03e590a6",
        ),
        case(
            "push-ack",
            0,
            Value::PushAck(PushAck { up_to: 300 }),
            "00000003 0007 0000 00000000 01ac02",
        ),
        case(
            "ping",
            0,
            Value::Ping(Ping {
                nonce: 0x0123_4567_89ab_cdef,
            }),
            "0000000a 0008 0000 00000000 01ef9bafcdf8acd19101",
        ),
        case(
            "pong",
            0,
            Value::Pong(Pong {
                nonce: 0x0123_4567_89ab_cdef,
            }),
            "0000000a 0009 0000 00000000 01ef9bafcdf8acd19101",
        ),
        case(
            "go-away",
            0,
            Value::GoAway(GoAway {
                code: ErrorCode::SESSION_REPLACED,
                message: "logged in elsewhere".to_string(),
            }),
            "00000016 000a 0000 00000000 0117136c6f6767656420696e20656c73657768657265",
        ),
        case(
            "replica-hello",
            0,
            Value::ReplicaHello(ReplicaHello {
                protocol: 1,
                latest: 300,
            }),
            "00000004 000b 0000 00000000 0101ac02",
        ),
        case(
            "replica-batches",
            0,
            Value::ReplicaBatches(ReplicaBatches {
                batches: vec![ReplicaBatch {
                    sequence: 301,
                    data: vec![0xde, 0xad],
                }],
                primary_latest: 302,
            }),
            "00000009 000c 0000 00000000 0101ad0202deadae02",
        ),
        case(
            "replica-applied",
            0,
            Value::ReplicaApplied(ReplicaApplied { latest: 301 }),
            "00000003 000d 0000 00000000 01ad02",
        ),
        case(
            "go-away-to",
            0,
            Value::GoAwayTo(GoAwayTo {
                code: ErrorCode::ACCOUNT_MOVED,
                message: "moved".to_string(),
                address: "127.0.0.9:7070".to_string(),
            }),
            "00000018 000e 0000 00000000 01c901056d6f7665640e3132372e302e302e393a37303730",
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Frame bytes as hex with the header fields spaced out: `len kind flags corr body`.
fn spaced_hex(frame: &[u8]) -> String {
    let h = hex(frame);
    let cut = |a: usize, b: usize| h.get(a..b.min(h.len())).unwrap_or("");
    format!(
        "{} {} {} {} {}",
        cut(0, 8),
        cut(8, 12),
        cut(12, 16),
        cut(16, 24),
        cut(24, h.len())
    )
    .trim_end()
    .to_string()
}

fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let pairs = digits.chunks_exact(2);
    assert!(
        pairs.remainder().is_empty(),
        "odd number of hex digits in {s:?}"
    );
    pairs
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("hex is ASCII");
            u8::from_str_radix(pair, 16).expect("hex digit")
        })
        .collect()
}

/// Checks one case; returns a description of what is wrong, if anything.
fn check(c: &Case) -> Option<String> {
    let mut out = BytesMut::new();
    c.value.write_frame(c.correlation, &mut out);
    if out[..] != unhex(c.hex)[..] {
        return Some(format!(
            "{}: encoding changed\n    expected {}\n    actual   \"{}\"",
            c.name,
            c.hex,
            spaced_hex(&out)
        ));
    }
    // Decode the pasted bytes (not our own output) back to the value.
    let mut input = BytesMut::from(&unhex(c.hex)[..]);
    let frame = match FrameDecoder::new(MAX_FRAME_CEILING).decode(&mut input) {
        Ok(Some(f)) => f,
        other => return Some(format!("{}: frame does not decode: {other:?}", c.name)),
    };
    if !input.is_empty() {
        return Some(format!("{}: {} bytes after the frame", c.name, input.len()));
    }
    if frame.kind != c.value.kind() || frame.correlation != c.correlation {
        return Some(format!(
            "{}: header decodes to {:?}/{}",
            c.name, frame.kind, frame.correlation
        ));
    }
    match Value::decode(frame.kind, &frame.body) {
        Ok(v) if v == c.value => None,
        other => Some(format!("{}: body decodes to {other:?}", c.name)),
    }
}

#[test]
fn every_golden_case_encodes_and_decodes_exactly() {
    let cases = cases();
    let mut names = BTreeSet::new();
    for c in &cases {
        assert!(names.insert(c.name), "duplicate case name {}", c.name);
    }
    let failures: Vec<String> = cases.iter().filter_map(check).collect();
    assert!(
        failures.is_empty(),
        "{} of {} golden cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_frame_kind_has_a_golden_case() {
    let covered: BTreeSet<u16> = cases().iter().map(|c| c.value.kind() as u16).collect();
    for kind in FrameKind::ALL {
        assert!(
            covered.contains(&(kind as u16)),
            "frame kind {kind:?} ({}) has no golden case",
            kind as u16
        );
    }
}

// ---------------------------------------------------------------------------------------
// Variant indices: code, golden cases and PROTOCOL.md agree
// ---------------------------------------------------------------------------------------

/// Reads the rows `| number | `name` | ...` of the table after `<!-- table: {marker} -->`.
fn doc_table(marker: &str) -> Vec<(u32, String)> {
    let tag = format!("<!-- table: {marker} -->");
    let start = PROTOCOL_MD
        .find(&tag)
        .unwrap_or_else(|| panic!("PROTOCOL.md has no {tag}"));
    let rows: Vec<(u32, String)> = PROTOCOL_MD[start + tag.len()..]
        .lines()
        .skip_while(|l| !l.trim_start().starts_with('|'))
        .take_while(|l| l.trim_start().starts_with('|'))
        .filter_map(|l| {
            let mut cells = l.split('|').skip(1).map(str::trim);
            let number = cells.next()?.parse().ok()?;
            let name = cells.next()?.trim_matches('`').to_string();
            Some((number, name))
        })
        .collect();
    assert!(!rows.is_empty(), "table {marker} in PROTOCOL.md is empty");
    rows
}

/// The leading varint of a postcard encoding (the variant index of an enum).
fn leading_varint(bytes: &[u8]) -> u32 {
    let mut out = 0u32;
    for (i, b) in bytes.iter().take(5).enumerate() {
        out |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return out;
        }
    }
    panic!("no varint at the front of {bytes:02x?}");
}

/// The variant index of an enum body as it is on the wire (after the version byte).
fn wire_index<T: Body>(value: &T) -> u32 {
    let body = value.encode();
    assert_eq!(body.first(), Some(&1), "body version byte");
    leading_varint(&body[1..])
}

/// Names a `Response` variant. Adding a variant breaks this match on purpose: give it a
/// golden case and a row in PROTOCOL.md's response table.
fn response_name(r: &Response) -> &'static str {
    match r {
        Response::Ok => "Ok",
        Response::LoggedIn(_) => "LoggedIn",
        Response::Session(_) => "Session",
        Response::Agents(_) => "Agents",
        Response::Accounts(_) => "Accounts",
        Response::Account(_) => "Account",
        Response::Stats { .. } => "Stats",
        Response::Roles(_) => "Roles",
        Response::Role(_) => "Role",
        Response::Profile(_) => "Profile",
        Response::Security(_) => "Security",
        Response::TokensImported { .. } => "TokensImported",
        Response::CustomerLoggedIn(_) => "CustomerLoggedIn",
        Response::Conversation(_) => "Conversation",
        Response::Conversations(_) => "Conversations",
        Response::Sent { .. } => "Sent",
        Response::Accepted { .. } => "Accepted",
        Response::CustomerKey(_) => "CustomerKey",
        Response::Messages(_) => "Messages",
        Response::RoutingSettings(_) => "RoutingSettings",
        Response::Contact(_) => "Contact",
        Response::Contacts(_) => "Contacts",
        Response::Deleted { .. } => "Deleted",
        Response::Online(_) => "Online",
        Response::Tags(_) => "Tags",
        Response::Groups(_) => "Groups",
        Response::Import(_) => "Import",
        Response::Export { .. } => "Export",
        Response::History(_) => "History",
        Response::ContactSettings(_) => "ContactSettings",
        Response::QuickReplies { .. } => "QuickReplies",
        Response::Analytics(_) => "Analytics",
        Response::Ticket { .. } => "Ticket",
        Response::BroadcastSent { .. } => "BroadcastSent",
        Response::AccountPresence { .. } => "AccountPresence",
        Response::Clock { .. } => "Clock",
        Response::ResumeEnabled { .. } => "ResumeEnabled",
        Response::Resumed { .. } => "Resumed",
        Response::Metrics { .. } => "Metrics",
        Response::StorageCheck(_) => "StorageCheck",
        Response::AccountDeleted { .. } => "AccountDeleted",
        Response::DesignatedAgent(_) => "DesignatedAgent",
        Response::Choices(_) => "Choices",
        Response::Backup(_) => "Backup",
        Response::Backups(_) => "Backups",
        Response::AgentGroups(_) => "AgentGroups",
        Response::ServingAgent(_) => "ServingAgent",
        Response::AgentPrefs(_) => "AgentPrefs",
        Response::ReminderSettings(_) => "ReminderSettings",
        Response::ContactOwners { .. } => "ContactOwners",
        Response::IdleSettings(_) => "IdleSettings",
        Response::IdleConversations(_) => "IdleConversations",
        Response::InternalMessages(_) => "InternalMessages",
        Response::NavigationMenu(_) => "NavigationMenu",
        Response::MenuStep(_) => "MenuStep",
        Response::MenuPath(_) => "MenuPath",
        Response::SpamFilter(_) => "SpamFilter",
        Response::Muted(_) => "Muted",
        Response::SmsQueued { .. } => "SmsQueued",
        Response::SmsBalance(_) => "SmsBalance",
        Response::SmsDeadLetters(_) => "SmsDeadLetters",
        Response::FileTransfer { .. } => "FileTransfer",
        Response::Upload { .. } => "Upload",
        Response::OfflineFileStored { .. } => "OfflineFileStored",
        Response::OfflineFiles(_) => "OfflineFiles",
        Response::Fetch { .. } => "Fetch",
        Response::FileData { .. } => "FileData",
        Response::Balance(_) => "Balance",
        Response::Broadcast(_) => "Broadcast",
        Response::Broadcasts(_) => "Broadcasts",
        Response::EntryCodes(_) => "EntryCodes",
        Response::EntryCode(_) => "EntryCode",
        Response::PublicEntryCode(_) => "PublicEntryCode",
        Response::SiteVisitors(_) => "SiteVisitors",
        Response::VisitorTrail(_) => "VisitorTrail",
        Response::Invited { .. } => "Invited",
        Response::AutoInviteSettings(_) => "AutoInviteSettings",
        Response::VisitTrend(_) => "VisitTrend",
        Response::SiteAnalytics(_) => "SiteAnalytics",
        Response::WorkReport(_) => "WorkReport",
        Response::Survey(_) => "Survey",
        Response::Surveys(_) => "Surveys",
        Response::SurveyResult(_) => "SurveyResult",
        Response::SurveyForms(_) => "SurveyForms",
        Response::ExportData(_) => "ExportData",
        Response::CsatSettings(_) => "CsatSettings",
        Response::CsatReport(_) => "CsatReport",
        Response::AllowedOrigins(_) => "AllowedOrigins",
        Response::BroadcastPage(_) => "BroadcastPage",
        Response::BroadcastCustomers(_) => "BroadcastCustomers",
        Response::BroadcastReviews(_) => "BroadcastReviews",
        Response::EnterpriseProfile(_) => "EnterpriseProfile",
        Response::ChatWindowStyle(_) => "ChatWindowStyle",
        Response::WindowStyle(_) => "WindowStyle",
        Response::ProfileReviews(_) => "ProfileReviews",
        Response::AccountExport(_) => "AccountExport",
        Response::AccountChanges(_) => "AccountChanges",
    }
}

/// Names an `Event` variant. Adding a variant breaks this match on purpose: give it a
/// golden case and a row in PROTOCOL.md's event table.
fn event_name(e: &Event) -> &'static str {
    match e {
        Event::PresenceChanged { .. } => "PresenceChanged",
        Event::Notice { .. } => "Notice",
        Event::PresenceChanges(_) => "PresenceChanges",
        Event::Message(_) => "Message",
        Event::ConversationChanged(_) => "ConversationChanged",
        Event::ConversationAlert { .. } => "ConversationAlert",
        Event::ContactNotice(_) => "ContactNotice",
        Event::Signal { .. } => "Signal",
        Event::AccountPresenceChanged { .. } => "AccountPresenceChanged",
        Event::IdleChanged(_) => "IdleChanged",
        Event::InternalMessage(_) => "InternalMessage",
        Event::MenuShown(_) => "MenuShown",
        Event::MenuPath(_) => "MenuPath",
        Event::QuietMessage(_) => "QuietMessage",
        Event::FileOffered { .. } => "FileOffered",
        Event::FileCredit { .. } => "FileCredit",
        Event::FileChunk { .. } => "FileChunk",
        Event::FileEnded { .. } => "FileEnded",
        Event::OfflineFile(_) => "OfflineFile",
        Event::FromBroadcast { .. } => "FromBroadcast",
        Event::BroadcastPreview { .. } => "BroadcastPreview",
        Event::Invitation(_) => "Invitation",
        Event::VisitorArrived(_) => "VisitorArrived",
        Event::CsatSurvey(_) => "CsatSurvey",
        Event::SurveyBroadcast { .. } => "SurveyBroadcast",
    }
}

/// Checks that the variants seen in the golden cases (name → wire index) are exactly
/// the rows of the PROTOCOL.md table, indices numbered 0, 1, 2... in order.
fn assert_matches_doc(marker: &str, seen: &BTreeMap<&'static str, BTreeSet<u32>>) {
    let doc = doc_table(marker);
    for (i, (index, name)) in doc.iter().enumerate() {
        assert_eq!(
            *index as usize, i,
            "{marker}: PROTOCOL.md lists {name} at index {index}, expected {i}"
        );
        let on_wire = seen
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{marker}: {name} (PROTOCOL.md) has no golden case"));
        assert_eq!(
            on_wire,
            &BTreeSet::from([*index]),
            "{marker}: {name} is index {index} in PROTOCOL.md but {on_wire:?} on the wire"
        );
    }
    let documented: BTreeSet<&str> = doc.iter().map(|(_, n)| n.as_str()).collect();
    for name in seen.keys() {
        assert!(
            documented.contains(name),
            "{marker}: {name} is missing from PROTOCOL.md"
        );
    }
}

/// The requests that only read (`Request::is_read`, PROTOCOL.md 40.7): what a read-only
/// session may send. Checked against every request kind of the golden cases, which hold
/// every kind, so a kind added without a decision here fails the test.
const READS: &[&str] = &[
    "ListAgents",
    "WhoAmI",
    "AdminListAccounts",
    "AdminShowAccount",
    "AdminListAgents",
    "AdminStats",
    "ListRoles",
    "GetAgentProfile",
    "GetSecurity",
    "ListQueue",
    "ListConversations",
    "ConversationMessages",
    "GetRoutingSettings",
    "GetContact",
    "SearchContacts",
    "RecentContacts",
    "ContactsOnline",
    "ListTags",
    "ListGroups",
    "ExportContacts",
    "History",
    "GetContactSettings",
    "ListQuickReplies",
    "GetAnalytics",
    "GetAccountPresence",
    "AdminClockShow",
    "GetServerTime",
    "AdminMetrics",
    "GetDesignatedAgent",
    "DesignatedChoices",
    "AdminBackupList",
    "SearchOnlineContacts",
    "ListAgentGroups",
    "ServingAgent",
    "GetAgentPrefs",
    "GetReminderSettings",
    "GetContactOwners",
    "GetIdleSettings",
    "ListIdleConversations",
    "InternalHistory",
    "SearchInternal",
    "GetNavigationMenu",
    "GetMenuPath",
    "GetSpamFilter",
    "ListTrash",
    "ListMuted",
    "AdminSmsBalance",
    "AdminSmsDeadLetters",
    "AdminBalanceShow",
    "GetBalance",
    "ListBroadcasts",
    "AdminBroadcastReviewList",
    "ListEntryCodes",
    "GetEntryCode",
    "ListSiteVisitors",
    "GetVisitorTrail",
    "GetAutoInvite",
    "GetVisitTrend",
    "GetSiteAnalytics",
    "GetWorkReport",
    "ListSurveys",
    "GetSurveyResult",
    "ListOpenSurveys",
    "ExportReport",
    "ExportChunk",
    "GetCsatSettings",
    "CsatReport",
    "GetAllowedOrigins",
    "ListBroadcastPage",
    "GetBroadcastCustomers",
    "AdminBroadcastReviewQueue",
    "GetEnterpriseProfile",
    "GetChatWindowStyle",
    "GetWindowStyle",
    "AdminProfileReviewQueue",
    "AdminExportAccount",
    "AdminAccountChanges",
];

#[test]
fn is_read_classifies_every_request_kind() {
    let mut kinds = BTreeSet::new();
    for c in cases() {
        if let Value::Request(r) = &c.value {
            kinds.insert(r.name());
            assert_eq!(
                r.is_read(),
                READS.contains(&r.name()),
                "{}: is_read disagrees with READS",
                r.name()
            );
        }
    }
    assert_eq!(
        kinds.len(),
        request_index(&Request::AdminApplyAccountChanges {
            account: 0,
            after: 0,
            upto: 0,
            changes: Vec::new()
        }) as usize
            + 1,
        "the golden cases hold every request kind"
    );
    for name in READS {
        assert!(kinds.contains(name), "READS names {name}, no such request");
    }
    // Logins and writes are never reads.
    assert!(!READS.contains(&"LoginReadOnly") && !READS.contains(&"SendMessage"));
}

#[test]
fn request_variant_indices_are_in_the_order_of_protocol_md() {
    let mut seen: BTreeMap<&'static str, BTreeSet<u32>> = BTreeMap::new();
    for c in cases() {
        if let Value::Request(r) = &c.value {
            let index = wire_index(r);
            assert_eq!(index, request_index(r), "{}: wire index", r.name());
            seen.entry(r.name()).or_default().insert(index);
        }
    }
    assert_matches_doc("requests", &seen);
}

#[test]
fn response_and_event_variant_indices_match_protocol_md() {
    let mut responses: BTreeMap<&'static str, BTreeSet<u32>> = BTreeMap::new();
    let mut events: BTreeMap<&'static str, BTreeSet<u32>> = BTreeMap::new();
    for c in cases() {
        match &c.value {
            Value::Response(r) => {
                responses
                    .entry(response_name(r))
                    .or_default()
                    .insert(wire_index(r));
            }
            Value::Push(p) => {
                // `Push` is `seq` (a varint) then the event: skip the seq.
                let body = p.encode();
                let seq_len = body[1..].iter().take_while(|b| *b & 0x80 != 0).count() + 1;
                events
                    .entry(event_name(&p.event))
                    .or_default()
                    .insert(leading_varint(&body[1 + seq_len..]));
            }
            _ => {}
        }
    }
    assert_matches_doc("responses", &responses);
    assert_matches_doc("events", &events);
}

// ---------------------------------------------------------------------------------------
// Field enums (Presence, Plan, DisplayMode, SecurityLevel, TokenFileFormat, and the
// conversation types Channel, Entry, MessageBody, Party, ConversationState, CustomerId, and
// the CRM types ContactState, ContactSort, HistoryKind, TagEdit, GroupEdit, GroupNode,
// ContactNotice)
// ---------------------------------------------------------------------------------------

// The names of the values of each field enum. Adding a variant breaks these matches on
// purpose: add the value to the list beside it, use it in a golden case and give it a row
// in the PROTOCOL.md table named in the list.

fn presence_name(p: Presence) -> &'static str {
    match p {
        Presence::Online => "Online",
        Presence::Away => "Away",
        Presence::Busy => "Busy",
        Presence::Offline => "Offline",
    }
}
const PRESENCES: [Presence; 4] = [
    Presence::Online,
    Presence::Away,
    Presence::Busy,
    Presence::Offline,
];

fn plan_name(p: Plan) -> &'static str {
    match p {
        Plan::Gold => "Gold",
        Plan::Silver => "Silver",
    }
}
const PLANS: [Plan; 2] = [Plan::Gold, Plan::Silver];

fn display_mode_name(d: DisplayMode) -> &'static str {
    match d {
        DisplayMode::Nickname => "Nickname",
        DisplayMode::AgentNumber => "AgentNumber",
    }
}
const DISPLAY_MODES: [DisplayMode; 2] = [DisplayMode::Nickname, DisplayMode::AgentNumber];

fn security_level_name(l: SecurityLevel) -> &'static str {
    match l {
        SecurityLevel::Low => "Low",
        SecurityLevel::Medium => "Medium",
        SecurityLevel::High => "High",
    }
}
const SECURITY_LEVELS: [SecurityLevel; 3] = [
    SecurityLevel::Low,
    SecurityLevel::Medium,
    SecurityLevel::High,
];

fn token_file_format_name(f: TokenFileFormat) -> &'static str {
    match f {
        TokenFileFormat::Pskc => "Pskc",
        TokenFileFormat::Csv => "Csv",
    }
}
const TOKEN_FILE_FORMATS: [TokenFileFormat; 2] = [TokenFileFormat::Pskc, TokenFileFormat::Csv];

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Desktop => "Desktop",
        Channel::Web => "Web",
        Channel::Mobile => "Mobile",
    }
}
const CHANNELS: [Channel; 3] = [Channel::Desktop, Channel::Web, Channel::Mobile];

// The enums below carry fields, so their encoding is more than the index: their lists
// hold one sample value per variant, and `data_enum_indices` reads the leading index.

fn entry_name(e: &Entry) -> &'static str {
    match e {
        Entry::Auto => "Auto",
        Entry::Agent(_) => "Agent",
        Entry::Group(_) => "Group",
    }
}
fn entries() -> Vec<Entry> {
    vec![
        Entry::Auto,
        Entry::Agent(1002),
        Entry::Group("售后".to_string()),
    ]
}

fn message_body_name(b: &MessageBody) -> &'static str {
    match b {
        MessageBody::Text(_) => "Text",
        MessageBody::Image { .. } => "Image",
        MessageBody::File { .. } => "File",
    }
}
fn message_bodies() -> Vec<MessageBody> {
    vec![
        MessageBody::Text("hi".to_string()),
        MessageBody::Image {
            reference: "r".to_string(),
        },
        MessageBody::File {
            reference: "r".to_string(),
            name: "a.txt".to_string(),
            size: 1,
        },
    ]
}

fn party_name(p: &Party) -> &'static str {
    match p {
        Party::Customer => "Customer",
        Party::Agent(_) => "Agent",
        Party::System => "System",
    }
}
const PARTIES: [Party; 3] = [Party::Customer, Party::Agent(1002), Party::System];

fn conversation_state_name(s: &ConversationState) -> &'static str {
    match s {
        ConversationState::Queued { .. } => "Queued",
        ConversationState::Assigned { .. } => "Assigned",
        ConversationState::Closed => "Closed",
        ConversationState::InMenu => "InMenu",
    }
}
const CONVERSATION_STATES: [ConversationState; 4] = [
    ConversationState::Queued { target: None },
    ConversationState::Assigned { agent: 1002 },
    ConversationState::Closed,
    ConversationState::InMenu,
];

fn menu_action_name(a: &MenuAction) -> &'static str {
    match a {
        MenuAction::OpenUrl(_) => "OpenUrl",
        MenuAction::AutoReply(_) => "AutoReply",
        MenuAction::ToAgent(_) => "ToAgent",
        MenuAction::ToGroup(_) => "ToGroup",
        MenuAction::HumanService => "HumanService",
        MenuAction::SubMenu(_) => "SubMenu",
    }
}
fn menu_actions() -> Vec<MenuAction> {
    menu()
        .nodes
        .into_iter()
        .flat_map(|n| n.options.into_iter().map(|o| o.action))
        .collect()
}

fn menu_step_name(s: &MenuStep) -> &'static str {
    match s {
        MenuStep::Prompt(_) => "Prompt",
        MenuStep::OpenUrl { .. } => "OpenUrl",
        MenuStep::AutoReply { .. } => "AutoReply",
        MenuStep::Routed(_) => "Routed",
    }
}
fn menu_steps() -> Vec<MenuStep> {
    vec![
        MenuStep::Prompt(menu_prompt()),
        MenuStep::OpenUrl { url: "u".into() },
        MenuStep::AutoReply { text: "t".into() },
        MenuStep::Routed(conversation(
            identified(),
            Channel::Web,
            ConversationState::Closed,
        )),
    ]
}

fn customer_id_name(c: &CustomerId) -> &'static str {
    match c {
        CustomerId::Identified(_) => "Identified",
        CustomerId::Visitor(_) => "Visitor",
    }
}
fn customer_ids() -> Vec<CustomerId> {
    vec![identified(), CustomerId::Visitor(VISITOR)]
}

// The CRM's enums (section 17).

fn contact_state_name(s: ContactState) -> &'static str {
    match s {
        ContactState::Friend => "Friend",
        ContactState::Stranger => "Stranger",
        ContactState::Blacklisted => "Blacklisted",
        ContactState::Pending => "Pending",
    }
}
const CONTACT_STATES: [ContactState; 4] = [
    ContactState::Friend,
    ContactState::Stranger,
    ContactState::Blacklisted,
    ContactState::Pending,
];

fn contact_sort_name(s: ContactSort) -> &'static str {
    match s {
        ContactSort::LastContact => "LastContact",
        ContactSort::Name => "Name",
        ContactSort::Newest => "Newest",
    }
}
const CONTACT_SORTS: [ContactSort; 3] = [
    ContactSort::LastContact,
    ContactSort::Name,
    ContactSort::Newest,
];

fn history_kind_name(k: HistoryKind) -> &'static str {
    match k {
        HistoryKind::All => "All",
        HistoryKind::Images => "Images",
        HistoryKind::Files => "Files",
    }
}
const HISTORY_KINDS: [HistoryKind; 3] = [HistoryKind::All, HistoryKind::Images, HistoryKind::Files];

fn tag_edit_name(e: &TagEdit) -> &'static str {
    match e {
        TagEdit::Create { .. } => "Create",
        TagEdit::Rename { .. } => "Rename",
        TagEdit::Recolour { .. } => "Recolour",
        TagEdit::Delete { .. } => "Delete",
    }
}
fn tag_edits() -> Vec<TagEdit> {
    vec![
        TagEdit::Create {
            name: "VIP".to_string(),
            colour: 0,
        },
        TagEdit::Rename {
            id: 6,
            name: "VIP".to_string(),
        },
        TagEdit::Recolour { id: 6, colour: 0 },
        TagEdit::Delete { id: 6 },
    ]
}

fn group_edit_name(e: &GroupEdit) -> &'static str {
    match e {
        GroupEdit::CreateCategory { .. } => "CreateCategory",
        GroupEdit::CreateGroup { .. } => "CreateGroup",
        GroupEdit::RenameCategory { .. } => "RenameCategory",
        GroupEdit::RenameGroup { .. } => "RenameGroup",
        GroupEdit::DeleteCategory { .. } => "DeleteCategory",
        GroupEdit::DeleteGroup { .. } => "DeleteGroup",
        GroupEdit::MoveGroup { .. } => "MoveGroup",
        GroupEdit::MoveCategory { .. } => "MoveCategory",
    }
}
fn group_edits() -> Vec<GroupEdit> {
    let name = || "客户".to_string();
    vec![
        GroupEdit::CreateCategory { name: name() },
        GroupEdit::CreateGroup {
            name: name(),
            category: None,
        },
        GroupEdit::RenameCategory {
            id: 1,
            name: name(),
        },
        GroupEdit::RenameGroup {
            id: 3,
            name: name(),
        },
        GroupEdit::DeleteCategory { id: 1 },
        GroupEdit::DeleteGroup { id: 3 },
        GroupEdit::MoveGroup {
            id: 3,
            category: Some(1),
            position: 0,
        },
        GroupEdit::MoveCategory { id: 1, position: 0 },
    ]
}

fn group_node_name(n: &GroupNode) -> &'static str {
    match n {
        GroupNode::Category { .. } => "Category",
        GroupNode::Group(_) => "Group",
    }
}
fn group_nodes() -> Vec<GroupNode> {
    let group = GroupInfo {
        id: 3,
        name: "上海".to_string(),
    };
    vec![
        GroupNode::Category {
            id: 1,
            name: "客户".to_string(),
            groups: vec![group.clone()],
        },
        GroupNode::Group(group),
    ]
}

fn contact_notice_name(n: &ContactNotice) -> &'static str {
    match n {
        ContactNotice::AddedUs { .. } => "AddedUs",
        ContactNotice::Answered { .. } => "Answered",
        ContactNotice::FriendRequest { .. } => "FriendRequest",
    }
}
fn contact_notices() -> Vec<ContactNotice> {
    vec![
        ContactNotice::AddedUs {
            customer: identified(),
        },
        ContactNotice::Answered {
            customer: identified(),
            accepted: true,
        },
        ContactNotice::FriendRequest {
            account: 800_001,
            note: String::new(),
        },
    ]
}

// The account centre's modules (section 18).

fn account_centre_module_name(m: AccountCentreModule) -> &'static str {
    match m {
        AccountCentreModule::AccountInfo => "AccountInfo",
        AccountCentreModule::EnterpriseSpace => "EnterpriseSpace",
        AccountCentreModule::Campaigns => "Campaigns",
        AccountCentreModule::ServiceConfig => "ServiceConfig",
    }
}
const ACCOUNT_CENTRE_MODULES: [AccountCentreModule; 4] = [
    AccountCentreModule::AccountInfo,
    AccountCentreModule::EnterpriseSpace,
    AccountCentreModule::Campaigns,
    AccountCentreModule::ServiceConfig,
];

// Signals and the account's presence (section 12.9, 12.10).

fn signal_name(s: &Signal) -> &'static str {
    match s {
        Signal::TypingStarted => "TypingStarted",
        Signal::TypingStopped => "TypingStopped",
        Signal::Shake => "Shake",
        Signal::Call(_) => "Call",
    }
}
fn signals() -> Vec<Signal> {
    vec![
        Signal::TypingStarted,
        Signal::TypingStopped,
        Signal::Shake,
        call_signal(CallKind::Voice, CallPhase::Offer, b""),
    ]
}
fn call_kind_name(k: CallKind) -> &'static str {
    match k {
        CallKind::Voice => "Voice",
        CallKind::Video => "Video",
        CallKind::RemoteAssist => "RemoteAssist",
    }
}
const CALL_KINDS: [CallKind; 3] = [CallKind::Voice, CallKind::Video, CallKind::RemoteAssist];
fn call_phase_name(p: CallPhase) -> &'static str {
    match p {
        CallPhase::Offer => "Offer",
        CallPhase::Answer => "Answer",
        CallPhase::IceCandidate => "IceCandidate",
        CallPhase::HangUp => "HangUp",
    }
}
const CALL_PHASES: [CallPhase; 4] = [
    CallPhase::Offer,
    CallPhase::Answer,
    CallPhase::IceCandidate,
    CallPhase::HangUp,
];
fn account_presence_mode_name(m: AccountPresenceMode) -> &'static str {
    match m {
        AccountPresenceMode::AlwaysOnline => "AlwaysOnline",
        AccountPresenceMode::FromAgents => "FromAgents",
    }
}
const ACCOUNT_PRESENCE_MODES: [AccountPresenceMode; 2] = [
    AccountPresenceMode::AlwaysOnline,
    AccountPresenceMode::FromAgents,
];

/// Name → wire index of each value of a field enum (postcard alone, no version byte).
fn enum_indices<T: serde::Serialize + Copy>(
    values: &[T],
    name: fn(T) -> &'static str,
) -> BTreeMap<&'static str, BTreeSet<u32>> {
    let mut seen: BTreeMap<&'static str, BTreeSet<u32>> = BTreeMap::new();
    for v in values {
        let bytes = postcard::to_allocvec(v).expect("field enums serialise");
        assert_eq!(bytes.len(), 1, "{} is more than its index", name(*v));
        seen.entry(name(*v))
            .or_default()
            .insert(leading_varint(&bytes));
    }
    seen
}

/// Name → wire index of each sample value of an enum with fields (postcard alone).
fn data_enum_indices<T: serde::Serialize>(
    values: &[T],
    name: fn(&T) -> &'static str,
) -> BTreeMap<&'static str, BTreeSet<u32>> {
    let mut seen: BTreeMap<&'static str, BTreeSet<u32>> = BTreeMap::new();
    for v in values {
        let bytes = postcard::to_allocvec(v).expect("field enums serialise");
        seen.entry(name(v))
            .or_default()
            .insert(leading_varint(&bytes));
    }
    seen
}

#[test]
fn field_enum_indices_match_protocol_md() {
    assert_matches_doc("presence", &enum_indices(&PRESENCES, presence_name));
    assert_matches_doc("plan", &enum_indices(&PLANS, plan_name));
    assert_matches_doc(
        "display-mode",
        &enum_indices(&DISPLAY_MODES, display_mode_name),
    );
    assert_matches_doc(
        "security-level",
        &enum_indices(&SECURITY_LEVELS, security_level_name),
    );
    assert_matches_doc(
        "token-file-format",
        &enum_indices(&TOKEN_FILE_FORMATS, token_file_format_name),
    );
    assert_matches_doc("channel", &enum_indices(&CHANNELS, channel_name));
    assert_matches_doc("entry", &data_enum_indices(&entries(), entry_name));
    assert_matches_doc(
        "message-body",
        &data_enum_indices(&message_bodies(), message_body_name),
    );
    assert_matches_doc("party", &data_enum_indices(&PARTIES, party_name));
    assert_matches_doc(
        "conversation-state",
        &data_enum_indices(&CONVERSATION_STATES, conversation_state_name),
    );
    assert_matches_doc(
        "customer-id",
        &data_enum_indices(&customer_ids(), customer_id_name),
    );
    assert_matches_doc(
        "contact-state",
        &enum_indices(&CONTACT_STATES, contact_state_name),
    );
    assert_matches_doc(
        "contact-sort",
        &enum_indices(&CONTACT_SORTS, contact_sort_name),
    );
    assert_matches_doc(
        "history-kind",
        &enum_indices(&HISTORY_KINDS, history_kind_name),
    );
    assert_matches_doc("tag-edit", &data_enum_indices(&tag_edits(), tag_edit_name));
    assert_matches_doc(
        "group-edit",
        &data_enum_indices(&group_edits(), group_edit_name),
    );
    assert_matches_doc(
        "group-node",
        &data_enum_indices(&group_nodes(), group_node_name),
    );
    assert_matches_doc(
        "contact-notice",
        &data_enum_indices(&contact_notices(), contact_notice_name),
    );
    assert_matches_doc(
        "account-centre-module",
        &enum_indices(&ACCOUNT_CENTRE_MODULES, account_centre_module_name),
    );
    assert_matches_doc("signal", &data_enum_indices(&signals(), signal_name));
    assert_matches_doc("call-kind", &enum_indices(&CALL_KINDS, call_kind_name));
    assert_matches_doc("call-phase", &enum_indices(&CALL_PHASES, call_phase_name));
    assert_matches_doc(
        "account-presence-mode",
        &enum_indices(&ACCOUNT_PRESENCE_MODES, account_presence_mode_name),
    );
    assert_matches_doc(
        "menu-action",
        &data_enum_indices(&menu_actions(), menu_action_name),
    );
    assert_matches_doc(
        "menu-step",
        &data_enum_indices(&menu_steps(), menu_step_name),
    );
}

/// Collects `Type::Value` for every field-enum value inside a golden value.
fn field_enum_values(value: &Value, out: &mut BTreeSet<String>) {
    fn channel(c: Channel, out: &mut BTreeSet<String>) {
        out.insert(format!("Channel::{}", channel_name(c)));
    }
    fn customer(c: &CustomerId, out: &mut BTreeSet<String>) {
        out.insert(format!("CustomerId::{}", customer_id_name(c)));
    }
    fn body(b: &MessageBody, out: &mut BTreeSet<String>) {
        out.insert(format!("MessageBody::{}", message_body_name(b)));
    }
    fn conversation(c: &ConversationInfo, out: &mut BTreeSet<String>) {
        customer(&c.customer, out);
        channel(c.channel, out);
        out.insert(format!(
            "ConversationState::{}",
            conversation_state_name(&c.state)
        ));
    }
    fn message(m: &MessageInfo, out: &mut BTreeSet<String>) {
        out.insert(format!("Party::{}", party_name(&m.from)));
        body(&m.body, out);
    }
    fn contact_state(s: ContactState, out: &mut BTreeSet<String>) {
        out.insert(format!("ContactState::{}", contact_state_name(s)));
    }
    fn menu_actions_of(m: &NavigationMenu, out: &mut BTreeSet<String>) {
        for o in m.nodes.iter().flat_map(|n| &n.options) {
            out.insert(format!("MenuAction::{}", menu_action_name(&o.action)));
        }
    }
    fn contact(c: &ContactInfo, out: &mut BTreeSet<String>) {
        customer(&c.customer, out);
        contact_state(c.state, out);
    }
    fn signal(s: &Signal, out: &mut BTreeSet<String>) {
        out.insert(format!("Signal::{}", signal_name(s)));
        if let Signal::Call(c) = s {
            out.insert(format!("CallKind::{}", call_kind_name(c.kind)));
            out.insert(format!("CallPhase::{}", call_phase_name(c.phase)));
        }
    }
    fn request(r: &Request, out: &mut BTreeSet<String>) {
        match r {
            Request::CustomerLogin { channel: c, .. }
            | Request::VisitorLogin { channel: c, .. } => {
                channel(*c, out);
            }
            Request::OpenConversation { entry } => {
                out.insert(format!("Entry::{}", entry_name(entry)));
            }
            Request::SendMessage { body: b, .. } => body(b, out),
            Request::SetPresence { presence } => {
                out.insert(format!("Presence::{}", presence_name(*presence)));
            }
            Request::AdminCreateAccount { plan, .. } => {
                out.insert(format!("Plan::{}", plan_name(*plan)));
            }
            Request::SetAgentProfile { profile, .. } => {
                out.insert(format!(
                    "DisplayMode::{}",
                    display_mode_name(profile.display)
                ));
            }
            Request::SetSecurityLevel { level } => {
                out.insert(format!("SecurityLevel::{}", security_level_name(*level)));
            }
            Request::AdminImportTokens { format, .. } => {
                out.insert(format!(
                    "TokenFileFormat::{}",
                    token_file_format_name(*format)
                ));
            }
            Request::CreateContact {
                customer: c, state, ..
            }
            | Request::SetContactState { customer: c, state } => {
                customer(c, out);
                contact_state(*state, out);
            }
            Request::GetContact { customer: c }
            | Request::UpdateContact { customer: c, .. }
            | Request::RequestContact { customer: c, .. }
            | Request::RequestContactFiled { customer: c, .. }
            | Request::GetContactOwners { customer: c } => customer(c, out),
            Request::DeleteContacts { customers: cs }
            | Request::ContactsOnline { customers: cs } => {
                for c in cs {
                    customer(c, out);
                }
            }
            Request::SearchContacts(q) => {
                if let Some(state) = q.state {
                    contact_state(state, out);
                }
                out.insert(format!("ContactSort::{}", contact_sort_name(q.sort)));
            }
            Request::EditTags(e) => {
                out.insert(format!("TagEdit::{}", tag_edit_name(e)));
            }
            Request::EditGroups(e) => {
                out.insert(format!("GroupEdit::{}", group_edit_name(e)));
            }
            Request::History(q) => {
                customer(&q.customer, out);
                out.insert(format!("HistoryKind::{}", history_kind_name(q.kind)));
            }
            Request::AccountCentreTicket { module } => {
                out.insert(format!(
                    "AccountCentreModule::{}",
                    account_centre_module_name(*module)
                ));
            }
            Request::Broadcast {
                customers: cs,
                body: b,
                ..
            } => {
                for c in cs {
                    customer(c, out);
                }
                body(b, out);
            }
            Request::Signal { signal: s, .. } => signal(s, out),
            Request::SetAccountPresenceMode { mode } => {
                out.insert(format!(
                    "AccountPresenceMode::{}",
                    account_presence_mode_name(*mode)
                ));
            }
            Request::SetNavigationMenu { menu } => menu_actions_of(menu, out),
            Request::AdminOnAccount { request: inner, .. } => {
                if let Ok(inner) = Request::decode(inner) {
                    request(&inner, out);
                }
            }
            _ => {}
        }
    }
    match value {
        Value::Request(r) => request(r, out),
        Value::Response(Response::Agents(agents)) => {
            for a in agents {
                out.insert(format!("Presence::{}", presence_name(a.presence)));
            }
        }
        Value::Response(Response::Accounts(accounts)) => {
            for a in accounts {
                out.insert(format!("Plan::{}", plan_name(a.plan)));
            }
        }
        Value::Response(Response::Account(a)) => {
            out.insert(format!("Plan::{}", plan_name(a.plan)));
        }
        Value::Response(Response::Profile(p)) => {
            out.insert(format!("DisplayMode::{}", display_mode_name(p.display)));
        }
        Value::Response(Response::Security(s)) => {
            out.insert(format!("SecurityLevel::{}", security_level_name(s.level)));
        }
        Value::Push(Push {
            event: Event::PresenceChanged { presence, .. },
            ..
        }) => {
            out.insert(format!("Presence::{}", presence_name(*presence)));
        }
        Value::Push(Push {
            event: Event::PresenceChanges(changes),
            ..
        }) => {
            for c in changes {
                out.insert(format!("Presence::{}", presence_name(c.presence)));
            }
        }
        Value::Response(Response::CustomerLoggedIn(s)) => {
            customer(&s.customer, out);
            if let Some(c) = &s.conversation {
                conversation(c, out);
            }
        }
        Value::Response(Response::Conversation(c))
        | Value::Push(Push {
            event: Event::ConversationChanged(c),
            ..
        }) => conversation(c, out),
        Value::Response(Response::Conversations(cs)) => {
            for c in cs {
                conversation(c, out);
            }
        }
        Value::Response(Response::Accepted {
            conversation: c,
            history,
        }) => {
            conversation(c, out);
            for m in history {
                message(m, out);
            }
        }
        Value::Push(Push {
            event: Event::Message(m),
            ..
        }) => message(m, out),
        Value::Response(Response::Contact(c)) => contact(c, out),
        Value::Response(Response::Contacts(page)) => {
            for c in &page.contacts {
                contact(c, out);
            }
        }
        Value::Response(Response::Groups(nodes)) => {
            for n in nodes {
                out.insert(format!("GroupNode::{}", group_node_name(n)));
            }
        }
        Value::Response(Response::History(page)) => {
            for m in &page.messages {
                message(m, out);
            }
        }
        Value::Push(Push {
            event: Event::Signal {
                from, signal: s, ..
            },
            ..
        }) => {
            out.insert(format!("Party::{}", party_name(from)));
            signal(s, out);
        }
        Value::Push(Push {
            event: Event::AccountPresenceChanged { presence },
            ..
        }) => {
            out.insert(format!("Presence::{}", presence_name(*presence)));
        }
        Value::Response(Response::AccountPresence { presence, mode }) => {
            out.insert(format!("Presence::{}", presence_name(*presence)));
            if let Some(m) = mode {
                out.insert(format!(
                    "AccountPresenceMode::{}",
                    account_presence_mode_name(*m)
                ));
            }
        }
        Value::Push(Push {
            event: Event::ContactNotice(n),
            ..
        }) => {
            out.insert(format!("ContactNotice::{}", contact_notice_name(n)));
            if let ContactNotice::AddedUs { customer: c }
            | ContactNotice::Answered { customer: c, .. } = n
            {
                customer(c, out);
            }
        }
        Value::Response(Response::NavigationMenu(m)) => menu_actions_of(m, out),
        Value::Response(Response::MenuStep(s)) => {
            out.insert(format!("MenuStep::{}", menu_step_name(s)));
            if let MenuStep::Routed(c) = s {
                conversation(c, out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_field_enum_value_is_in_a_golden_case() {
    let mut covered = BTreeSet::new();
    for c in cases() {
        field_enum_values(&c.value, &mut covered);
    }
    let all = PRESENCES
        .iter()
        .map(|v| format!("Presence::{}", presence_name(*v)))
        .chain(PLANS.iter().map(|v| format!("Plan::{}", plan_name(*v))))
        .chain(
            DISPLAY_MODES
                .iter()
                .map(|v| format!("DisplayMode::{}", display_mode_name(*v))),
        )
        .chain(
            SECURITY_LEVELS
                .iter()
                .map(|v| format!("SecurityLevel::{}", security_level_name(*v))),
        )
        .chain(
            TOKEN_FILE_FORMATS
                .iter()
                .map(|v| format!("TokenFileFormat::{}", token_file_format_name(*v))),
        )
        .chain(
            CHANNELS
                .iter()
                .map(|v| format!("Channel::{}", channel_name(*v))),
        )
        .chain(
            entries()
                .into_iter()
                .map(|v| format!("Entry::{}", entry_name(&v))),
        )
        .chain(
            message_bodies()
                .into_iter()
                .map(|v| format!("MessageBody::{}", message_body_name(&v))),
        )
        .chain(PARTIES.iter().map(|v| format!("Party::{}", party_name(v))))
        .chain(
            CONVERSATION_STATES
                .iter()
                .map(|v| format!("ConversationState::{}", conversation_state_name(v))),
        )
        .chain(
            customer_ids()
                .into_iter()
                .map(|v| format!("CustomerId::{}", customer_id_name(&v))),
        )
        .chain(
            CONTACT_STATES
                .iter()
                .map(|v| format!("ContactState::{}", contact_state_name(*v))),
        )
        .chain(
            CONTACT_SORTS
                .iter()
                .map(|v| format!("ContactSort::{}", contact_sort_name(*v))),
        )
        .chain(
            HISTORY_KINDS
                .iter()
                .map(|v| format!("HistoryKind::{}", history_kind_name(*v))),
        )
        .chain(
            tag_edits()
                .into_iter()
                .map(|v| format!("TagEdit::{}", tag_edit_name(&v))),
        )
        .chain(
            group_edits()
                .into_iter()
                .map(|v| format!("GroupEdit::{}", group_edit_name(&v))),
        )
        .chain(
            group_nodes()
                .into_iter()
                .map(|v| format!("GroupNode::{}", group_node_name(&v))),
        )
        .chain(
            contact_notices()
                .into_iter()
                .map(|v| format!("ContactNotice::{}", contact_notice_name(&v))),
        )
        .chain(
            ACCOUNT_CENTRE_MODULES
                .iter()
                .map(|v| format!("AccountCentreModule::{}", account_centre_module_name(*v))),
        )
        .chain(
            signals()
                .into_iter()
                .map(|v| format!("Signal::{}", signal_name(&v))),
        )
        .chain(
            CALL_KINDS
                .iter()
                .map(|v| format!("CallKind::{}", call_kind_name(*v))),
        )
        .chain(
            CALL_PHASES
                .iter()
                .map(|v| format!("CallPhase::{}", call_phase_name(*v))),
        )
        .chain(
            ACCOUNT_PRESENCE_MODES
                .iter()
                .map(|v| format!("AccountPresenceMode::{}", account_presence_mode_name(*v))),
        )
        .chain(
            menu_actions()
                .into_iter()
                .map(|v| format!("MenuAction::{}", menu_action_name(&v))),
        )
        .chain(
            menu_steps()
                .into_iter()
                .map(|v| format!("MenuStep::{}", menu_step_name(&v))),
        );
    let missing: Vec<String> = all.filter(|v| !covered.contains(v)).collect();
    assert!(missing.is_empty(), "no golden case uses {missing:?}");
}

#[test]
fn frame_kinds_match_protocol_md() {
    let doc = doc_table("frame-kinds");
    let code: Vec<(u32, String)> = FrameKind::ALL
        .iter()
        .map(|k| (u32::from(*k as u16), format!("{k:?}")))
        .collect();
    assert_eq!(doc, code, "PROTOCOL.md frame kinds vs FrameKind::ALL");
}

#[test]
fn error_codes_match_protocol_md() {
    let doc = doc_table("error-codes");
    let code: Vec<(u32, String)> = ErrorCode::ALL
        .iter()
        .map(|c| (u32::from(c.0), c.name().unwrap_or("?").to_string()))
        .collect();
    assert_eq!(doc, code, "PROTOCOL.md error codes vs ErrorCode::ALL");
}

#[test]
fn worked_examples_in_protocol_md_are_golden_bytes() {
    // The hex dumps in PROTOCOL.md's worked examples are these two golden cases.
    for name in ["hello", "request/Login"] {
        let c = cases()
            .into_iter()
            .find(|c| c.name == name)
            .expect("case exists");
        let marker = format!("<!-- example: {name} -->");
        let start = PROTOCOL_MD
            .find(&marker)
            .unwrap_or_else(|| panic!("PROTOCOL.md has no {marker}"));
        let block: String = PROTOCOL_MD[start + marker.len()..]
            .lines()
            .skip_while(|l| !l.starts_with("```"))
            .skip(1)
            .take_while(|l| !l.starts_with("```"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            hex(&unhex(&block)),
            hex(&unhex(c.hex)),
            "worked example {name} in PROTOCOL.md"
        );
    }
}
