//! Typed dispatch: every wire [`Request`] is sorted once, by an exhaustive `match`
//! ([`classify`]), into the closed enum of the domain that handles it; each domain
//! matches its own enum exhaustively. A new wire variant is a compile error here
//! (and in `auth.rs`'s table, and in [`target_account`]) until someone decides where it
//! goes, then a compile error in that domain's handler until it is handled — never
//! an `INTERNAL "not routed"` at run time. The recipe is in README.md ("Adding a
//! request").
//!
//! The wire enum stays flat (postcard's variant order is frozen); these enums are the
//! daemon's own and may be reshaped freely. Requests either side of a conversation may
//! send ([`ParticipantRequest`]) become the agent's or the customer's form according
//! to who sent them.
#![allow(missing_docs)] // the variants are the wire's, documented in kefu_wire::Request
#![allow(clippy::enum_variant_names)] // the variants keep the wire's names (AdminClock…, …Token)

use kefu_wire::chat::{
    AccountPresenceMode, Channel, CustomerId, DesignatedSettings, Entry, MessageBody,
    RoutingConfig, Signal,
};
use kefu_wire::crm::{ContactEdit, ContactQuery, ContactState, GroupEdit, HistoryQuery, TagEdit};
use kefu_wire::files::{FileMeta, FilePeer};
use kefu_wire::{
    AccountCentreModule, AgentProfile, Plan, Presence, QuickReply, Request, SecurityLevel,
    TokenFileFormat,
};

/// Where a request goes.
#[derive(Debug)]
pub(crate) enum Routed {
    /// A login or a resumption (any connection not logged in).
    Entry(EntryRequest),
    /// An agent's request.
    Agent(AgentRequest),
    /// A customer's request.
    Customer(CustomerRequest),
    /// Either side of a conversation.
    Participant(ParticipantRequest),
    /// The operator's.
    Operator(OperatorRequest),
    /// A logged-in agent's or customer's: make its session resumable.
    EnableResume,
    /// Files, online and offline, of an agent or a customer (`files.rs`).
    Files(FileRequest),
}

/// Files (C13): online transfers and offline files, either side (`files.rs`,
/// `offline_files.rs`).
#[derive(Debug)]
pub(crate) enum FileRequest {
    FileOffer {
        to: FilePeer,
        meta: FileMeta,
    },
    FileAnswer {
        transfer: u64,
        accept: bool,
        credit: u32,
    },
    FileCredit {
        transfer: u64,
        bytes: u32,
    },
    FileChunk {
        transfer: u64,
        offset: u64,
        data: Vec<u8>,
    },
    FileCancel {
        transfer: u64,
    },
    UploadFile {
        to: FilePeer,
        meta: FileMeta,
    },
    UploadChunk {
        upload: u64,
        offset: u64,
        data: Vec<u8>,
    },
    FinishUpload {
        upload: u64,
    },
    ListOfflineFiles,
    FetchFile {
        token: [u8; 32],
    },
    FetchChunk {
        fetch: u64,
        offset: u64,
        max: u32,
    },
}

/// An agent's request, by domain.
#[derive(Debug)]
pub(crate) enum AgentRequest {
    Session(SessionRequest),
    Chat(AgentChatRequest),
    Signal(AgentSignalRequest),
    Crm(CrmRequest),
    History(HistoryQuery),
    Extras(ExtrasRequest),
    Security(SecurityRequest),
    Token(TokenRequest),
    Prefs(PrefsRequest),
    Automation(AutomationRequest),
    Internal(InternalRequest),
    Menu(MenuRequest),
    Spam(SpamRequest),
    ValueAdded(ValueAddedRequest),
    Web(WebAgentRequest),
    Reports(ReportRequest),
    Survey(SurveyRequest),
    Csat(CsatRequest),
    Profile(ProfileRequest),
}

/// A customer's request, by domain.
#[derive(Debug)]
pub(crate) enum CustomerRequest {
    Chat(CustomerChatRequest),
    Signal(CustomerSignalRequest),
    Crm(CustomerCrmRequest),
    Sms(CustomerSmsRequest),
    Web(WebCustomerRequest),
    Survey(CustomerSurveyRequest),
    Csat(CustomerCsatRequest),
    Profile(CustomerProfileRequest),
}

/// The enterprise profile and the window's style, as an agent (`profile_review.rs`).
#[derive(Debug)]
pub(crate) enum ProfileRequest {
    GetEnterpriseProfile,
    SubmitEnterpriseProfile {
        profile: kefu_wire::profile::EnterpriseProfile,
    },
    GetChatWindowStyle,
    SubmitChatWindowStyle {
        style: kefu_wire::profile::ChatWindowStyle,
    },
}

/// The window's style, as a customer or visitor (`profile_review.rs`).
#[derive(Debug)]
pub(crate) enum CustomerProfileRequest {
    GetWindowStyle,
}

/// The operator's review of profiles and styles (`profile_review.rs`).
#[derive(Debug)]
pub(crate) enum ProfileAdminRequest {
    AdminProfileReviewQueue {
        after: Option<kefu_wire::profile::ProfileReviewCursor>,
        limit: u32,
    },
    AdminReviewProfile {
        account: u64,
        kind: kefu_wire::profile::ReviewKind,
        approve: bool,
        reason: String,
    },
}

/// Customer satisfaction, as an agent (`csat.rs`).
#[derive(Debug)]
pub(crate) enum CsatRequest {
    GetCsatSettings,
    SetCsatSettings(kefu_wire::csat::CsatSettings),
    CsatReport(kefu_wire::csat::CsatQuery),
}

/// Customer satisfaction, as a customer (`csat.rs`).
#[derive(Debug)]
pub(crate) enum CustomerCsatRequest {
    RateConversation {
        conversation: u64,
        rating: u8,
        reasons: Vec<u8>,
        text: String,
    },
}

/// The daily work report and exports (`work_report.rs`, `exports.rs`).
#[derive(Debug)]
pub(crate) enum ReportRequest {
    GetWorkReport {
        from: kefu_wire::reports::Date,
        to: kefu_wire::reports::Date,
        agent: Option<u32>,
    },
    ExportReport {
        report: kefu_wire::reports::ReportKind,
        format: kefu_wire::reports::ExportFormat,
        otp: Option<String>,
    },
    ExportChunk {
        export: u64,
        index: u32,
    },
}

/// Surveys as an agent (`surveys.rs`; permission 10, V7).
#[derive(Debug)]
pub(crate) enum SurveyRequest {
    CreateSurvey {
        draft: kefu_wire::survey::SurveyDraft,
        otp: Option<String>,
    },
    EditSurvey {
        id: u64,
        draft: kefu_wire::survey::SurveyDraft,
        otp: Option<String>,
    },
    CloseSurvey {
        id: u64,
        otp: Option<String>,
    },
    ListSurveys {
        otp: Option<String>,
    },
    GetSurveyResult {
        id: u64,
        otp: Option<String>,
    },
}

/// Surveys as a customer (`surveys.rs`).
#[derive(Debug)]
pub(crate) enum CustomerSurveyRequest {
    ListOpenSurveys,
    AnswerSurvey { survey: u64, choices: Vec<Vec<u8>> },
}

/// The web channel, as an agent (`web.rs`: entry-point codes, visitors, invitations,
/// visit figures).
#[derive(Debug)]
pub(crate) enum WebAgentRequest {
    ListEntryCodes,
    CreateEntryCode {
        draft: kefu_wire::web::EntryCodeDraft,
    },
    EditEntryCode {
        id: u32,
        draft: kefu_wire::web::EntryCodeDraft,
    },
    DeleteEntryCode {
        id: u32,
    },
    ListSiteVisitors,
    GetVisitorTrail {
        visitor: CustomerId,
    },
    InviteVisitor {
        visitor: CustomerId,
        text: String,
    },
    GetAutoInvite,
    SetAutoInvite {
        settings: kefu_wire::web::AutoInviteSettings,
    },
    GetVisitTrend {
        from_day: u32,
        until_day: u32,
    },
    GetSiteAnalytics {
        from_day: u32,
        until_day: u32,
    },
    SetAllowedOrigins {
        origins: Vec<String>,
    },
    GetAllowedOrigins,
}

/// The web channel, as a customer or visitor (`web.rs`).
#[derive(Debug)]
pub(crate) enum WebCustomerRequest {
    GetEntryCode { id: u32 },
    OpenConversationByCode { id: u32 },
    PageView(kefu_wire::web::PageView),
    PageLeft,
    AnswerInvitation { invitation: u64, accept: bool },
}

/// Offline messages forwarded by SMS, as a customer (`sms.rs`).
#[derive(Debug)]
pub(crate) enum CustomerSmsRequest {
    ForwardSms {
        conversation: u64,
        message: u64,
        agent: u32,
    },
}

/// The SMS balance, dead letters and phone replies, the operator's (`sms.rs`).
#[derive(Debug)]
pub(crate) enum SmsAdminRequest {
    AdminSmsTopUp {
        account: u64,
        units: u32,
    },
    AdminSmsBalance {
        account: u64,
    },
    AdminSmsDeadLetters {
        account: u64,
    },
    AdminSmsReply {
        account: u64,
        sms: u64,
        reply_id: u64,
        text: String,
    },
}

/// Logins and resumption: any connection that is not logged in yet.
#[derive(Debug)]
pub(crate) enum EntryRequest {
    Login {
        account: u64,
        agent: u32,
        password: String,
        otp: Option<String>,
    },
    Resume {
        account: u64,
        agent: u32,
        token: [u8; 16],
    },
    Customer(CustomerEntry),
    /// Take over a detached session (`centre/resume.rs`).
    ResumeSession {
        token: kefu_wire::ResumeToken,
        last_ack: u64,
    },
    /// The account centre's sign-ins (`centre/account_centre.rs`).
    CentreLogin {
        account: u64,
        agent: u32,
        password: String,
        otp: Option<String>,
    },
    CentreTicketLogin {
        ticket: Vec<u8>,
    },
    /// A read-only session's login (`centre/read_only.rs`).
    LoginReadOnly {
        account: u64,
        agent: u32,
        password: String,
        otp: Option<String>,
    },
}

/// A customer's or visitor's login.
#[derive(Debug)]
pub(crate) enum CustomerEntry {
    CustomerLogin {
        account: u64,
        customer: String,
        expires_at: i64,
        signature: [u8; 32],
        channel: Channel,
    },
    VisitorLogin {
        account: u64,
        token: Option<[u8; 32]>,
        channel: Channel,
    },
}

/// An agent's own session, and the account's agents.
#[derive(Debug)]
pub(crate) enum SessionRequest {
    Logout,
    ListAgentGroups,
    LogoutWith {
        keep_conversations: bool,
    },
    SetPresence {
        presence: Presence,
    },
    ListAgents,
    WhoAmI,
    GetServerTime,
    AddAgent {
        agent: u32,
        nickname: String,
        role: Option<u32>,
    },
    SetAgentPassword {
        agent: u32,
        new_password: String,
        super_password: String,
    },
    ChangeOwnPassword {
        old_password: String,
        new_password: String,
    },
    ChangeSuperPassword {
        old_super_password: String,
        new_super_password: String,
    },
}

/// Conversations, queue and routing settings, as an agent.
#[derive(Debug)]
pub(crate) enum AgentChatRequest {
    SetAutoAccept {
        cap: u16,
    },
    ListQueue,
    ListConversations,
    AcceptConversation {
        conversation: u64,
    },
    TransferConversation {
        conversation: u64,
        to_agent: u32,
    },
    GrabConversation {
        conversation: u64,
        confirmed: bool,
    },
    GetRoutingSettings,
    SetRoutingSettings {
        settings: RoutingConfig,
    },
    GetDesignatedAgent,
    SetDesignatedAgent {
        settings: DesignatedSettings,
    },
    InitiateConversation {
        customer: CustomerId,
        channel: Channel,
    },
    SendMessage {
        conversation: u64,
        client_msg_id: u64,
        body: MessageBody,
    },
    CloseConversation {
        conversation: u64,
    },
    ConversationMessages {
        conversation: u64,
        after: u64,
        limit: u16,
    },
    MarkRead {
        conversation: u64,
    },
    OrderConversations {
        order: Vec<u64>,
    },
}

/// Signals in a conversation and the account's presence, as an agent.
#[derive(Debug)]
pub(crate) enum AgentSignalRequest {
    Signal { conversation: u64, signal: Signal },
    GetAccountPresence,
    SetAccountPresenceMode { mode: AccountPresenceMode },
}

/// The CRM, as an agent.
#[derive(Debug)]
pub(crate) enum CrmRequest {
    CreateContact {
        customer: CustomerId,
        state: ContactState,
        edit: ContactEdit,
    },
    GetContact {
        customer: CustomerId,
    },
    GetContactOwners {
        customer: CustomerId,
    },
    UpdateContact {
        customer: CustomerId,
        edit: ContactEdit,
    },
    SetContactState {
        customer: CustomerId,
        state: ContactState,
    },
    DeleteContacts {
        customers: Vec<CustomerId>,
    },
    SearchContacts(ContactQuery),
    SearchOnlineContacts(ContactQuery),
    RecentContacts {
        offset: u32,
        limit: u16,
    },
    ContactsOnline {
        customers: Vec<CustomerId>,
    },
    ListTags,
    EditTags(TagEdit),
    ListGroups,
    EditGroups(GroupEdit),
    ImportContacts {
        chunk: Vec<u8>,
        first: bool,
        last: bool,
    },
    ExportContacts {
        after: u64,
        limit: u32,
    },
    RequestContact {
        customer: CustomerId,
        note: String,
    },
    RequestContactFiled {
        customer: CustomerId,
        note: String,
        edit: ContactEdit,
    },
    GetContactSettings,
    SetContactSettings {
        settings: kefu_wire::crm::ContactSettings,
    },
}

/// Agents' own preferences and the account's reminder settings (`notices.rs`).
#[derive(Debug)]
pub(crate) enum PrefsRequest {
    GetAgentPrefs,
    SetAgentPrefs {
        prefs: kefu_wire::prefs::AgentPrefs,
    },
    GetReminderSettings,
    SetReminderSettings {
        settings: kefu_wire::prefs::ReminderSettings,
    },
}

/// The navigation menu, as an agent (`menu.rs`).
#[derive(Debug)]
pub(crate) enum MenuRequest {
    GetNavigationMenu,
    SetNavigationMenu {
        menu: kefu_wire::menu::NavigationMenu,
    },
    GetMenuPath {
        conversation: u64,
    },
}

/// Automation settings and state: idle customers (`idle.rs`).
#[derive(Debug)]
pub(crate) enum AutomationRequest {
    GetIdleSettings,
    SetIdleSettings {
        settings: kefu_wire::automation::IdleSettings,
    },
    ListIdleConversations,
}

/// Spam filter, trash and mute (`spam.rs`, M6).
#[derive(Debug)]
pub(crate) enum SpamRequest {
    GetSpamFilter,
    SetSpamFilter {
        level: kefu_wire::spam::SpamLevel,
    },
    ListTrash,
    AcceptFromTrash {
        conversation: u64,
    },
    MuteCustomer {
        customer: kefu_wire::chat::CustomerId,
        muted: bool,
    },
    ListMuted,
}

/// Internal chat between agents (`internal_chat.rs`).
#[derive(Debug)]
pub(crate) enum InternalRequest {
    SendInternal {
        to: u32,
        client_msg_id: u64,
        text: String,
    },
    InternalHistory {
        with: u32,
        before: u64,
        limit: u16,
    },
    SearchInternal {
        with: Option<u32>,
        text: String,
        limit: u16,
    },
}

/// Quick replies, analytics, account-centre tickets, broadcasts.
#[derive(Debug)]
pub(crate) enum ExtrasRequest {
    ListQuickReplies,
    SetQuickReplies {
        shared: bool,
        replies: Vec<QuickReply>,
    },
    GetAnalytics {
        from: i64,
        until: i64,
    },
    AccountCentreTicket {
        module: AccountCentreModule,
    },
    /// Retired (`BROADCAST_RETIRED`): refused, its fields unread.
    #[allow(dead_code)]
    Broadcast {
        groups: Vec<u32>,
        customers: Vec<CustomerId>,
        body: MessageBody,
        otp: Option<String>,
    },
}

/// Value-added services as an agent (`balance.rs`; permission 10, V7).
#[derive(Debug)]
pub(crate) enum ValueAddedRequest {
    GetBalance {
        otp: Option<String>,
    },
    SubmitBroadcast {
        draft: kefu_wire::valueadded::BroadcastDraft,
        otp: Option<String>,
    },
    CancelBroadcast {
        id: u64,
        otp: Option<String>,
    },
    ResubmitBroadcast {
        id: u64,
        draft: kefu_wire::valueadded::BroadcastDraft,
        otp: Option<String>,
    },
    ListBroadcasts {
        otp: Option<String>,
    },
    PreviewBroadcast {
        draft: kefu_wire::valueadded::BroadcastDraft,
        otp: Option<String>,
    },
    ListBroadcastPage {
        before: Option<u64>,
        limit: u32,
        otp: Option<String>,
    },
    GetBroadcastCustomers {
        id: u64,
        offset: u64,
        limit: u32,
        otp: Option<String>,
    },
    SubmitSurveyBroadcast {
        survey: u64,
        draft: kefu_wire::valueadded::BroadcastDraft,
        otp: Option<String>,
    },
    PreviewSurveyBroadcast {
        survey: u64,
        draft: kefu_wire::valueadded::BroadcastDraft,
        otp: Option<String>,
    },
}

/// The broadcast review and the sensitive words, the operator's (`broadcasts.rs`).
#[derive(Debug)]
pub(crate) enum BroadcastAdminRequest {
    AdminBroadcastReviewList {
        account: u64,
    },
    AdminBroadcastDecide {
        account: u64,
        id: u64,
        approve: bool,
        reason: String,
    },
    AdminSetSensitiveWords {
        words: Vec<String>,
    },
    AdminBroadcastReviewQueue {
        after: Option<kefu_wire::valueadded::ReviewCursor>,
        limit: u32,
    },
}

/// The balance, the operator's (`balance.rs`).
#[derive(Debug)]
pub(crate) enum BalanceAdminRequest {
    AdminBalanceTopUp { account: u64, units: u64 },
    AdminBalanceShow { account: u64 },
}

/// Roles, agent profiles and the security level.
#[derive(Debug)]
pub(crate) enum SecurityRequest {
    ListRoles,
    CreateRole {
        name: String,
        permissions: u16,
    },
    UpdateRole {
        role: u32,
        name: String,
        permissions: u16,
    },
    DeleteRole {
        role: u32,
    },
    SetAgentRole {
        agent: u32,
        role: u32,
    },
    GetAgentProfile {
        agent: u32,
    },
    SetAgentProfile {
        agent: u32,
        profile: AgentProfile,
    },
    SetSecurityLevel {
        level: SecurityLevel,
    },
    GetSecurity,
}

/// Hardware tokens, as an agent.
#[derive(Debug)]
pub(crate) enum TokenRequest {
    BindToken {
        agent: u32,
        serial: String,
        code: String,
    },
    UnbindToken {
        agent: u32,
    },
    CalibrateToken {
        serial: String,
        code: String,
        next_code: String,
    },
}

/// Conversations, as a customer.
#[derive(Debug)]
pub(crate) enum CustomerChatRequest {
    OpenConversation {
        entry: Entry,
    },
    ServingAgent,
    Reselect {
        conversation: u64,
        entry: Entry,
    },
    DesignatedChoices,
    SendMessage {
        conversation: u64,
        client_msg_id: u64,
        body: MessageBody,
    },
    CloseConversation {
        conversation: u64,
    },
    ConversationMessages {
        conversation: u64,
        after: u64,
        limit: u16,
    },
    ChooseMenuOption {
        conversation: u64,
        node: u16,
        option: u8,
    },
    ReplyToBroadcast {
        broadcast: u64,
        entry: Entry,
    },
}

/// Signals in a conversation and the account's presence, as a customer.
#[derive(Debug)]
pub(crate) enum CustomerSignalRequest {
    Signal { conversation: u64, signal: Signal },
    GetAccountPresence,
}

/// Friend requests and contact questions, as a customer.
#[derive(Debug)]
pub(crate) enum CustomerCrmRequest {
    AnswerContactRequest { accept: bool },
    AddAccount { answer: String },
}

/// Requests either side of a conversation may send; turned into the agent or the customer form by who sent it.
#[derive(Debug)]
pub(crate) enum ParticipantRequest {
    SendMessage {
        conversation: u64,
        client_msg_id: u64,
        body: MessageBody,
    },
    CloseConversation {
        conversation: u64,
    },
    ConversationMessages {
        conversation: u64,
        after: u64,
        limit: u16,
    },
    Signal {
        conversation: u64,
        signal: Signal,
    },
    GetAccountPresence,
}

/// The operator, on the admin socket (the clock in [`ClockRequest`]).
#[derive(Debug)]
pub(crate) enum OperatorRequest {
    Clock(ClockRequest),
    Sms(SmsAdminRequest),
    Ops(OpsRequest),
    Backup(BackupRequest),
    Balance(BalanceAdminRequest),
    Broadcast(BroadcastAdminRequest),
    Profile(ProfileAdminRequest),
    Move(MoveAdminRequest),
    AdminCreateAccount {
        account: u64,
        name: String,
        plan: Plan,
        expires_at: i64,
        password_1001: String,
        super_password: String,
    },
    AdminListAccounts {
        after: Option<u64>,
        limit: u32,
    },
    AdminShowAccount {
        account: u64,
    },
    AdminAddAgent {
        account: u64,
        agent: u32,
        nickname: String,
        role: Option<u32>,
    },
    AdminSetAgentPassword {
        account: u64,
        agent: u32,
        new_password: String,
    },
    AdminListAgents {
        account: u64,
    },
    AdminStats,
    AdminOnAccount {
        account: u64,
        request: Vec<u8>,
    },
    AdminImportTokens {
        format: TokenFileFormat,
        data: Vec<u8>,
        key_hex: Option<String>,
        password: Option<String>,
    },
    AdminUnlockToken {
        serial: String,
    },
    AdminUnlockAgent {
        account: u64,
        agent: u32,
    },
    AdminRotateCustomerKey {
        account: u64,
    },
}

/// Operating the appliance: metrics, the storage check, deleting an account
/// (`centre/operations.rs`; wire/PROTOCOL.md section 20).
#[derive(Debug)]
pub(crate) enum OpsRequest {
    AdminMetrics,
    AdminCheckStorage,
    AdminDeleteAccount { account: u64 },
}

/// Moving an account to another appliance (`centre/account_move.rs`; wire/PROTOCOL.md
/// section 40.6).
#[derive(Debug)]
pub(crate) enum MoveAdminRequest {
    AdminFreezeAccount {
        account: u64,
        frozen: bool,
    },
    AdminExportAccount {
        account: u64,
        after: Option<kefu_wire::account_move::AccountCursor>,
    },
    AdminImportAccount {
        account: u64,
        entries: Vec<kefu_wire::account_move::AccountEntry>,
        first: bool,
    },
    AdminAccountMoved {
        account: u64,
        address: String,
    },
    AdminAccountChanges {
        account: u64,
        after: Option<u64>,
    },
    AdminApplyAccountChanges {
        account: u64,
        after: u64,
        upto: u64,
        changes: Vec<kefu_wire::account_move::AccountChange>,
    },
}

/// The appliance's clock, the operator's alone (test mode moves it).
#[derive(Debug)]
pub(crate) enum ClockRequest {
    AdminClockShow,
    AdminClockSet { unix_ms: i64 },
    AdminClockAdvance { ms: i64 },
}

/// Backups of the appliance's database, the operator's alone (`centre/backup_admin.rs`).
#[derive(Debug)]
pub(crate) enum BackupRequest {
    AdminBackupCreate,
    AdminBackupList,
    AdminBackupVerify { backup_id: u32 },
}

/// Builds a domain value inside its wrappers: `wrap!([A, B], x)` is `A(B(x))`.
macro_rules! wrap {
    ([], $inner:expr) => {
        $inner
    };
    ([$last:path], $inner:expr) => {
        $last($inner)
    };
    ([$first:path, $($rest:path),+], $inner:expr) => {
        $first(wrap!([$($rest),+], $inner))
    };
}

/// The classification table: for each domain (the wrappers that lead to it, then its
/// enum), the wire variants it handles, each with the wire's fields, which the
/// domain's variant of the same name repeats. It expands to one exhaustive `match`.
macro_rules! classify_table {
    ($request:expr; $(
        $wrappers:tt $domain:ident {
            $($variant:ident $({ $($field:ident),* $(,)? })? $(($tuple:ident))?),* $(,)?
        }
    )*) => {
        match $request {
            $($(
                Request::$variant $({ $($field),* })? $(($tuple))? => wrap!(
                    $wrappers,
                    $domain::$variant $({ $($field),* })? $(($tuple))?
                ),
            )*)*
        }
    };
}

/// Sorts a request into the domain that handles it. Exhaustive: a new wire
/// variant does not compile until it is given a domain here (one line of the table).
pub(crate) fn classify(request: Request) -> Routed {
    classify_table! { request;
        [Routed::Entry] EntryRequest {
            Login { account, agent, password, otp }, Resume { account, agent, token },
            ResumeSession { token, last_ack }, CentreLogin { account, agent, password, otp },
            CentreTicketLogin { ticket }, LoginReadOnly { account, agent, password, otp } }
        [Routed::Agent, AgentRequest::Session] SessionRequest {
            Logout, SetPresence { presence }, AddAgent { agent, nickname, role },
            SetAgentPassword { agent, new_password, super_password },
            ChangeOwnPassword { old_password, new_password },
            ChangeSuperPassword { old_super_password, new_super_password },
            ListAgents, WhoAmI, LogoutWith { keep_conversations }, GetServerTime, ListAgentGroups }
        [Routed::Operator] OperatorRequest {
            AdminCreateAccount { account, name, plan, expires_at, password_1001, super_password },
            AdminListAccounts { after, limit }, AdminShowAccount { account },
            AdminAddAgent { account, agent, nickname, role },
            AdminSetAgentPassword { account, agent, new_password }, AdminListAgents { account },
            AdminStats, AdminOnAccount { account, request }, AdminRotateCustomerKey { account },
            AdminImportTokens { format, data, key_hex, password },
            AdminUnlockToken { serial }, AdminUnlockAgent { account, agent } }
        [Routed::Agent, AgentRequest::Security] SecurityRequest {
            ListRoles, CreateRole { name, permissions },
            UpdateRole { role, name, permissions }, DeleteRole { role }, SetAgentRole { agent, role },
            GetAgentProfile { agent }, SetAgentProfile { agent, profile },
            SetSecurityLevel { level }, GetSecurity }
        [Routed::Agent, AgentRequest::Token] TokenRequest {
            BindToken { agent, serial, code }, UnbindToken { agent },
            CalibrateToken { serial, code, next_code } }
        [Routed::Entry, EntryRequest::Customer] CustomerEntry {
            CustomerLogin { account, customer, expires_at, signature, channel },
            VisitorLogin { account, token, channel } }
        [Routed::Customer, CustomerRequest::Chat] CustomerChatRequest {
            OpenConversation { entry }, Reselect { conversation, entry }, DesignatedChoices, ServingAgent,
            ChooseMenuOption { conversation, node, option }, ReplyToBroadcast { broadcast, entry }, }
        [Routed::Participant] ParticipantRequest {
            SendMessage { conversation, client_msg_id, body }, CloseConversation { conversation },
            ConversationMessages { conversation, after, limit }, Signal { conversation, signal },
            GetAccountPresence, }
        [Routed::Agent, AgentRequest::Chat] AgentChatRequest {
            SetAutoAccept { cap }, ListQueue, ListConversations, AcceptConversation { conversation },
            TransferConversation { conversation, to_agent },
            GrabConversation { conversation, confirmed },
            GetRoutingSettings, SetRoutingSettings { settings },
            GetDesignatedAgent, SetDesignatedAgent { settings },
            InitiateConversation { customer, channel },
            MarkRead { conversation }, OrderConversations { order },
        }
        [Routed::Agent, AgentRequest::Crm] CrmRequest {
            CreateContact { customer, state, edit }, GetContact { customer },
            UpdateContact { customer, edit }, SetContactState { customer, state },
            DeleteContacts { customers }, SearchContacts(x), RecentContacts { offset, limit },
            ContactsOnline { customers },
            ListTags, EditTags(x), ListGroups, EditGroups(x),
            ImportContacts { chunk, first, last }, ExportContacts { after, limit },
            RequestContact { customer, note }, GetContactSettings,
            SetContactSettings { settings }, SearchOnlineContacts(x),
            RequestContactFiled { customer, note, edit }, GetContactOwners { customer },
        }
        [Routed::Agent, AgentRequest::Prefs] PrefsRequest {
            GetAgentPrefs, SetAgentPrefs { prefs }, GetReminderSettings, SetReminderSettings { settings },
        }
        [Routed::Agent] AgentRequest { History(query) }
        [Routed::Agent, AgentRequest::Internal] InternalRequest { SendInternal { to, client_msg_id, text },
            InternalHistory { with, before, limit }, SearchInternal { with, text, limit } }
        [Routed::Agent, AgentRequest::Menu] MenuRequest {
            GetNavigationMenu, SetNavigationMenu { menu }, GetMenuPath { conversation } }
        [Routed::Agent, AgentRequest::Automation] AutomationRequest {
            GetIdleSettings, SetIdleSettings { settings }, ListIdleConversations,
        }
        [Routed::Agent, AgentRequest::Spam] SpamRequest { GetSpamFilter, SetSpamFilter { level },
            ListTrash, AcceptFromTrash { conversation }, MuteCustomer { customer, muted }, ListMuted }
        [Routed::Customer, CustomerRequest::Crm] CustomerCrmRequest {
            AnswerContactRequest { accept }, AddAccount { answer },
        }
        [Routed::Agent, AgentRequest::Extras] ExtrasRequest {
            ListQuickReplies, SetQuickReplies { shared, replies },
            GetAnalytics { from, until }, AccountCentreTicket { module },
            Broadcast { groups, customers, body, otp },
        }
        [Routed::Agent, AgentRequest::Signal] AgentSignalRequest { SetAccountPresenceMode { mode } }
        [Routed::Operator, OperatorRequest::Clock] ClockRequest { AdminClockShow, AdminClockSet { unix_ms }, AdminClockAdvance { ms } }
        [Routed::Operator, OperatorRequest::Ops] OpsRequest { AdminMetrics, AdminCheckStorage, AdminDeleteAccount { account } }
        [Routed::Operator, OperatorRequest::Move] MoveAdminRequest {
            AdminFreezeAccount { account, frozen }, AdminExportAccount { account, after },
            AdminImportAccount { account, entries, first }, AdminAccountMoved { account, address },
            AdminAccountChanges { account, after },
            AdminApplyAccountChanges { account, after, upto, changes },
        }
        [Routed::Operator, OperatorRequest::Backup] BackupRequest { AdminBackupCreate, AdminBackupList, AdminBackupVerify { backup_id } }
        [Routed::Customer, CustomerRequest::Sms] CustomerSmsRequest {
            ForwardSms { conversation, message, agent } }
        [Routed::Operator, OperatorRequest::Sms] SmsAdminRequest { AdminSmsBalance { account },
            AdminSmsTopUp { account, units }, AdminSmsDeadLetters { account },
            AdminSmsReply { account, sms, reply_id, text } }
        [Routed::Files] FileRequest {
            FileOffer { to, meta }, FileAnswer { transfer, accept, credit }, FileCancel { transfer },
            FileCredit { transfer, bytes }, FileChunk { transfer, offset, data }, FinishUpload { upload },
            UploadFile { to, meta }, UploadChunk { upload, offset, data }, ListOfflineFiles,
            FetchFile { token }, FetchChunk { fetch, offset, max },
        }
        [Routed::Agent, AgentRequest::ValueAdded] ValueAddedRequest { GetBalance { otp },
            SubmitBroadcast { draft, otp }, CancelBroadcast { id, otp }, ListBroadcasts { otp },
            ResubmitBroadcast { id, draft, otp }, PreviewBroadcast { draft, otp },
            ListBroadcastPage { before, limit, otp }, GetBroadcastCustomers { id, offset, limit, otp }, SubmitSurveyBroadcast { survey, draft, otp }, PreviewSurveyBroadcast { survey, draft, otp } }
        [Routed::Operator, OperatorRequest::Broadcast] BroadcastAdminRequest {
            AdminBroadcastReviewList { account }, AdminSetSensitiveWords { words },
            AdminBroadcastDecide { account, id, approve, reason }, AdminBroadcastReviewQueue { after, limit } }
        [Routed::Operator, OperatorRequest::Balance] BalanceAdminRequest {
            AdminBalanceTopUp { account, units }, AdminBalanceShow { account } }
        [Routed::Agent, AgentRequest::Web] WebAgentRequest { ListEntryCodes, CreateEntryCode { draft }, EditEntryCode { id, draft }, DeleteEntryCode { id }, ListSiteVisitors, GetVisitorTrail { visitor }, InviteVisitor { visitor, text }, GetAutoInvite, SetAutoInvite { settings }, GetVisitTrend { from_day, until_day }, GetSiteAnalytics { from_day, until_day },
            SetAllowedOrigins { origins }, GetAllowedOrigins }
        [Routed::Customer, CustomerRequest::Web] WebCustomerRequest { GetEntryCode { id }, OpenConversationByCode { id }, PageView(x), PageLeft, AnswerInvitation { invitation, accept } }
        [Routed::Agent, AgentRequest::Reports] ReportRequest { GetWorkReport { from, to, agent }, ExportReport { report, format, otp }, ExportChunk { export, index } }
        [Routed::Agent, AgentRequest::Survey] SurveyRequest { CreateSurvey { draft, otp }, EditSurvey { id, draft, otp }, CloseSurvey { id, otp }, ListSurveys { otp }, GetSurveyResult { id, otp } }
        [Routed::Customer, CustomerRequest::Survey] CustomerSurveyRequest { ListOpenSurveys, AnswerSurvey { survey, choices } }
        [Routed::Agent, AgentRequest::Csat] CsatRequest { GetCsatSettings, SetCsatSettings(x), CsatReport(x) }
        [Routed::Customer, CustomerRequest::Csat] CustomerCsatRequest { RateConversation { conversation, rating, reasons, text } }
        [] Routed { EnableResume } [Routed::Agent, AgentRequest::Profile] ProfileRequest { GetEnterpriseProfile, SubmitEnterpriseProfile { profile }, GetChatWindowStyle, SubmitChatWindowStyle { style } } [Routed::Customer, CustomerRequest::Profile] CustomerProfileRequest { GetWindowStyle } [Routed::Operator, OperatorRequest::Profile] ProfileAdminRequest { AdminProfileReviewQueue { after, limit }, AdminReviewProfile { account, kind, approve, reason } }
    }
}

impl ParticipantRequest {
    /// The request as an agent sent it.
    pub(crate) fn for_agent(self) -> AgentRequest {
        match self {
            ParticipantRequest::SendMessage {
                conversation,
                client_msg_id,
                body,
            } => AgentRequest::Chat(AgentChatRequest::SendMessage {
                conversation,
                client_msg_id,
                body,
            }),
            ParticipantRequest::CloseConversation { conversation } => {
                AgentRequest::Chat(AgentChatRequest::CloseConversation { conversation })
            }
            ParticipantRequest::ConversationMessages {
                conversation,
                after,
                limit,
            } => AgentRequest::Chat(AgentChatRequest::ConversationMessages {
                conversation,
                after,
                limit,
            }),
            ParticipantRequest::Signal {
                conversation,
                signal,
            } => AgentRequest::Signal(AgentSignalRequest::Signal {
                conversation,
                signal,
            }),
            ParticipantRequest::GetAccountPresence => {
                AgentRequest::Signal(AgentSignalRequest::GetAccountPresence)
            }
        }
    }

    /// The request as a customer sent it.
    pub(crate) fn for_customer(self) -> CustomerRequest {
        match self {
            ParticipantRequest::SendMessage {
                conversation,
                client_msg_id,
                body,
            } => CustomerRequest::Chat(CustomerChatRequest::SendMessage {
                conversation,
                client_msg_id,
                body,
            }),
            ParticipantRequest::CloseConversation { conversation } => {
                CustomerRequest::Chat(CustomerChatRequest::CloseConversation { conversation })
            }
            ParticipantRequest::ConversationMessages {
                conversation,
                after,
                limit,
            } => CustomerRequest::Chat(CustomerChatRequest::ConversationMessages {
                conversation,
                after,
                limit,
            }),
            ParticipantRequest::Signal {
                conversation,
                signal,
            } => CustomerRequest::Signal(CustomerSignalRequest::Signal {
                conversation,
                signal,
            }),
            ParticipantRequest::GetAccountPresence => {
                CustomerRequest::Signal(CustomerSignalRequest::GetAccountPresence)
            }
        }
    }
}
/// The broadcast requests of the operator that name an account, binding it to `$a`
/// (a pattern, so the tables stay exhaustive and short).
macro_rules! value_added_admin {
    ($a:ident) => {
        Request::AdminBalanceTopUp { account: $a, .. }
            | Request::AdminBalanceShow { account: $a }
            | Request::AdminBroadcastReviewList { account: $a }
            | Request::AdminBroadcastDecide { account: $a, .. }
    };
}

/// The broadcast requests that name no account (a pattern).
macro_rules! value_added_agent {
    () => {
        Request::GetBalance { .. }
            | Request::SubmitBroadcast { .. }
            | Request::CancelBroadcast { .. }
            | Request::ResubmitBroadcast { .. }
            | Request::ListBroadcasts { .. }
            | Request::PreviewBroadcast { .. }
            | Request::ListBroadcastPage { .. }
            | Request::GetBroadcastCustomers { .. }
            | Request::SubmitSurveyBroadcast { .. }
            | Request::PreviewSurveyBroadcast { .. }
            | Request::AdminSetSensitiveWords { .. }
            | Request::AdminBroadcastReviewQueue { .. }
    };
}

/// The account a request is about when that decides the shard that runs it (the
/// connection or the operator's request goes to the account's owner); `None` for
/// requests about the caller's own account or none (`ResumeSession`: its session's
/// number names the shard, `route_request`). Exhaustive, like [`classify`]; a table, so
/// several short variants share a line.
#[rustfmt::skip]
pub(crate) fn target_account(request: &Request) -> Option<u64> {
    match request {
        Request::CentreTicketLogin { ticket } => crate::store::extras_records::ticket_account(ticket),
        Request::Login { account, .. }
        | Request::CentreLogin { account, .. }
        | Request::LoginReadOnly { account, .. }
        | Request::Resume { account, .. }
        | Request::AdminCreateAccount { account, .. }
        | Request::AdminShowAccount { account, .. }
        | Request::AdminAddAgent { account, .. }
        | Request::AdminSetAgentPassword { account, .. }
        | Request::AdminListAgents { account, .. }
        | Request::AdminOnAccount { account, .. }
        | Request::AdminUnlockAgent { account, .. }
        | Request::CustomerLogin { account, .. }
        | Request::VisitorLogin { account, .. }
        | Request::AdminRotateCustomerKey { account, .. }
        | Request::AdminDeleteAccount { account }
        | Request::AdminSmsTopUp { account, .. }
        | Request::AdminSmsBalance { account }
        | Request::AdminSmsDeadLetters { account }
        | Request::AdminSmsReply { account, .. }
        | Request::AdminReviewProfile { account, .. } => Some(*account),
        // On the account's shard, in order with its turns (`account_move.rs`).
        Request::AdminFreezeAccount { account, .. }
        | Request::AdminAccountMoved { account, .. } => Some(*account),
        // Store reads and writes of an account nobody serves here (`account_move.rs`).
        Request::AdminExportAccount { .. } | Request::AdminImportAccount { .. } => None,
        Request::AdminAccountChanges { .. } | Request::AdminApplyAccountChanges { .. } => None,
        value_added_admin!(account) => Some(*account),
        Request::Logout | Request::SetPresence { .. } | Request::AddAgent { .. }
        | Request::SetAgentPassword { .. } | Request::ChangeOwnPassword { .. }
        | Request::ChangeSuperPassword { .. } | Request::ListAgents | Request::WhoAmI
        | Request::AdminListAccounts { .. } | Request::AdminStats | Request::ListRoles
        | Request::CreateRole { .. } | Request::UpdateRole { .. } | Request::DeleteRole { .. }
        | Request::SetAgentRole { .. } | Request::GetAgentProfile { .. }
        | Request::SetAgentProfile { .. } | Request::SetSecurityLevel { .. }
        | Request::GetSecurity | Request::BindToken { .. } | Request::UnbindToken { .. }
        | Request::CalibrateToken { .. } | Request::AdminImportTokens { .. }
        | Request::AdminUnlockToken { .. } | Request::OpenConversation { .. }
        | Request::SendMessage { .. } | Request::SetAutoAccept { .. } | Request::ListQueue
        | Request::ListConversations | Request::AcceptConversation { .. }
        | Request::CloseConversation { .. } | Request::TransferConversation { .. }
        | Request::GrabConversation { .. } | Request::ConversationMessages { .. }
        | Request::GetRoutingSettings | Request::SetRoutingSettings { .. }
        | Request::Reselect { .. } | Request::InitiateConversation { .. }
        | Request::LogoutWith { .. } | Request::CreateContact { .. } | Request::GetContact { .. }
        | Request::UpdateContact { .. } | Request::SetContactState { .. }
        | Request::DeleteContacts { .. } | Request::SearchContacts(_)
        | Request::RecentContacts { .. } | Request::ContactsOnline { .. } | Request::ListTags
        | Request::EditTags(_) | Request::ListGroups | Request::EditGroups(_)
        | Request::ImportContacts { .. } | Request::ExportContacts { .. } | Request::History(_)
        | Request::RequestContact { .. } | Request::AnswerContactRequest { .. }
        | Request::AddAccount { .. } | Request::GetContactSettings
        | Request::SetContactSettings { .. } | Request::ListQuickReplies
        | Request::SetQuickReplies { .. } | Request::GetAnalytics { .. }
        | Request::AccountCentreTicket { .. } | Request::Broadcast { .. } | Request::Signal { .. }
        | Request::SetAccountPresenceMode { .. } | Request::GetAccountPresence
        | Request::AdminClockShow | Request::AdminClockSet { .. }
        | Request::AdminClockAdvance { .. } | Request::EnableResume | Request::GetServerTime
        | Request::AdminMetrics | Request::AdminCheckStorage | Request::GetDesignatedAgent
        | Request::SetDesignatedAgent { .. } | Request::DesignatedChoices
        | Request::AdminBackupCreate | Request::AdminBackupList
        | Request::AdminBackupVerify { .. } | Request::MarkRead { .. }
        | Request::OrderConversations { .. } | Request::SearchOnlineContacts(_)
        | Request::ListAgentGroups | Request::ServingAgent | Request::GetAgentPrefs
        | Request::SetAgentPrefs { .. } | Request::GetReminderSettings
        | Request::SetReminderSettings { .. } | Request::RequestContactFiled { .. }
        | Request::GetContactOwners { .. } | Request::GetIdleSettings
        | Request::SetIdleSettings { .. } | Request::ListIdleConversations
        | Request::SendInternal { .. } | Request::InternalHistory { .. }
        | Request::SearchInternal { .. } | Request::GetNavigationMenu
        | Request::SetNavigationMenu { .. } | Request::ChooseMenuOption { .. }
        | Request::GetMenuPath { .. } | Request::GetSpamFilter | Request::SetSpamFilter { .. }
        | Request::ListTrash | Request::AcceptFromTrash { .. } | Request::MuteCustomer { .. }
        | Request::ListMuted | Request::ForwardSms { .. }
        | Request::ReplyToBroadcast { .. } => None,
        Request::GetWorkReport { .. } | Request::CreateSurvey { .. }
        | Request::EditSurvey { .. } | Request::CloseSurvey { .. } | Request::ListSurveys { .. }
        | Request::GetSurveyResult { .. } | Request::ListOpenSurveys
        | Request::AnswerSurvey { .. } | Request::ExportReport { .. }
        | Request::ExportChunk { .. } => None,
        Request::GetCsatSettings | Request::SetCsatSettings(_) | Request::CsatReport(_)
        | Request::RateConversation { .. } => None,
        Request::GetEnterpriseProfile | Request::SubmitEnterpriseProfile { .. }
        | Request::GetChatWindowStyle | Request::SubmitChatWindowStyle { .. }
        | Request::GetWindowStyle | Request::AdminProfileReviewQueue { .. } => None,
        crate::auth::file_requests!() => None,
        value_added_agent!() => None,
        crate::auth::web_requests!() => None,
        // Its session's number names the shard (`route_request`), not an account.
        Request::ResumeSession { .. } => None,
    }
}
