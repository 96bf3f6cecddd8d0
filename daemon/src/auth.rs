//! The one authorisation check every request passes through.
//!
//! [`required_access`] is the table: an exhaustive `match`, so a new request
//! variant does not compile until someone decides who may send it.

use crate::store::records::{Permission, PermissionSet};
use kefu_wire::{AccountCentreModule, ErrorCode, Request};

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// A connection on the local admin socket: the operator (root).
    Operator,
    /// A connection that has not logged in.
    Anonymous,
    /// A logged-in customer or visitor of an account.
    Customer {
        /// Account number.
        account: u64,
    },
    /// A logged-in agent; permissions are read from its role at request time,
    /// so a role change applies to the very next request.
    Agent {
        /// Account number.
        account: u64,
        /// Agent number.
        agent: u32,
        /// The role's permissions now.
        permissions: PermissionSet,
    },
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone who completed the handshake (login itself).
    Anyone,
    /// Any logged-in agent.
    Session,
    /// A logged-in customer only.
    CustomerOnly,
    /// A logged-in agent or customer (the request names a conversation it must be in).
    Participant,
    /// A logged-in agent whose role has this permission.
    Permission(Permission),
    /// The agent itself (for requests naming an agent), or one with this permission.
    SelfOr(u32, Permission),
    /// Agent 1001 of the account only.
    SuperAdmin,
    /// The local admin socket only.
    Operator,
}

/// The pattern of every file request (C13, `centre/files.rs`): one line in the exhaustive
/// tables (`required_access`, `target_account`), which stay exhaustive. Either side of a
/// conversation may send them (`Participant`); who may send a file to whom is the
/// handler's.
macro_rules! file_requests {
    () => {
        Request::FileOffer { .. }
            | Request::FileAnswer { .. }
            | Request::FileCredit { .. }
            | Request::FileChunk { .. }
            | Request::FileCancel { .. }
            | Request::UploadFile { .. }
            | Request::UploadChunk { .. }
            | Request::FinishUpload { .. }
            | Request::ListOfflineFiles
            | Request::FetchFile { .. }
            | Request::FetchChunk { .. }
    };
}
pub(crate) use file_requests;

/// The value-added requests of agents (permission 10, V7), as a pattern: the table
/// below stays exhaustive and short.
macro_rules! value_added {
    () => {
        Request::Broadcast { .. }
            | Request::GetBalance { .. }
            | Request::SubmitBroadcast { .. }
            | Request::CancelBroadcast { .. }
            | Request::ResubmitBroadcast { .. }
            | Request::ListBroadcasts { .. }
            | Request::PreviewBroadcast { .. }
            | Request::SubmitSurveyBroadcast { .. }
            | Request::PreviewSurveyBroadcast { .. }
            | Request::ListBroadcastPage { .. }
            | Request::GetBroadcastCustomers { .. }
            // Surveys and their reports (PROTOCOL.md sections 35–36).
            | Request::CreateSurvey { .. }
            | Request::EditSurvey { .. }
            | Request::CloseSurvey { .. }
            | Request::ListSurveys { .. }
            | Request::GetSurveyResult { .. }
            | Request::ExportReport {
                report: kefu_wire::reports::ReportKind::SurveyResults { .. }
                    | kefu_wire::reports::ReportKind::SurveyAnswers { .. },
                ..
            }
    };
}

/// The data-analysis requests (permission 9): analytics and the daily work report (§7.19
/// "查看该页面需要在设置-系统设置中设置相应权限"; PROTOCOL.md sections 34 and 36), as a
/// pattern. An export chunk is the asker's own (the handler checks it); a survey is
/// answered by the customers it was sent to.
macro_rules! analytics {
    () => {
        Request::GetAnalytics { .. }
            | Request::GetWorkReport { .. }
            | Request::ExportReport {
                report: kefu_wire::reports::ReportKind::WorkReport { .. }
                    | kefu_wire::reports::ReportKind::Csat { .. }
                    | kefu_wire::reports::ReportKind::CsatDetail { .. }
                    | kefu_wire::reports::ReportKind::VisitTrend { .. }
                    | kefu_wire::reports::ReportKind::SiteAnalytics { .. },
                ..
            }
    };
}

/// The web channel's requests (W1, W3, S4, S5; `centre/web.rs`), as a pattern for
/// [`target_account`](crate::centre) (none names an account: the caller's own).
macro_rules! web_requests {
    () => {
        Request::ListEntryCodes
            | Request::CreateEntryCode { .. }
            | Request::EditEntryCode { .. }
            | Request::DeleteEntryCode { .. }
            | Request::GetEntryCode { .. }
            | Request::OpenConversationByCode { .. }
            | Request::PageView(_)
            | Request::PageLeft
            | Request::ListSiteVisitors
            | Request::GetVisitorTrail { .. }
            | Request::InviteVisitor { .. }
            | Request::AnswerInvitation { .. }
            | Request::GetAutoInvite
            | Request::SetAutoInvite { .. }
            | Request::GetVisitTrend { .. }
            | Request::GetSiteAnalytics { .. }
            | Request::SetAllowedOrigins { .. }
            | Request::GetAllowedOrigins
    };
}
pub(crate) use web_requests;

/// The enterprise profile's and window style's requests (section 41), as a pattern.
macro_rules! profile_requests {
    () => {
        Request::GetEnterpriseProfile
            | Request::SubmitEnterpriseProfile { .. }
            | Request::GetChatWindowStyle
            | Request::SubmitChatWindowStyle { .. }
            | Request::GetWindowStyle
            | Request::AdminProfileReviewQueue { .. }
            | Request::AdminReviewProfile { .. }
    };
}

/// The logins, resumptions and the account centre's sign-ins (PROTOCOL.md sections 9,
/// 6.1, 12.1, 39): anyone not logged in, as a pattern.
macro_rules! entry {
    () => {
        Request::Login { .. }
            | Request::Resume { .. }
            | Request::CustomerLogin { .. }
            | Request::VisitorLogin { .. }
            | Request::CentreLogin { .. }
            | Request::CentreTicketLogin { .. }
            | Request::ResumeSession { .. }
            | Request::LoginReadOnly { .. }
    };
}

/// The CSAT settings requests (permission 16), as a pattern.
macro_rules! csat_settings {
    () => {
        Request::GetCsatSettings | Request::SetCsatSettings(_)
    };
}

/// The operator's value-added requests, as a pattern.
macro_rules! value_added_admin {
    () => {
        Request::AdminBalanceTopUp { .. }
            | Request::AdminBalanceShow { .. }
            | Request::AdminBroadcastReviewList { .. }
            | Request::AdminBroadcastDecide { .. }
            | Request::AdminSetSensitiveWords { .. }
            | Request::AdminBroadcastReviewQueue { .. }
    };
}

/// The authorisation table. Besides what the arms say: visibility of a contact or
/// history (exclusive mode, permissions 4 and 5; `SearchOnlineContacts` too) and a
/// change of a contact's groups (permission 8) and taking a contact off the blacklist
/// (permission 7, §3.11.3 note) are decided per item by the CRM;
/// designated agent (§7.15) is set with business settings and the reminder settings
/// with system settings (§5.5 names agent 1001, whose role has it); the navigation menu
/// with permission 16, which §7.13 names for it ("为营销 QQ 设置导航菜单", PROTOCOL.md
/// 25.1); what is the appliance's rather than an account's — the test clock, metrics,
/// the storage check, deleting an account, backups (sections 19–21) — is the
/// operator's alone.
pub fn required_access(request: &Request) -> Access {
    match request {
        entry!() => Access::Anyone,
        // A logged-in agent or customer, about its own session.
        Request::EnableResume => Access::Participant,
        Request::OpenConversation { .. } | Request::Reselect { .. } => Access::CustomerOnly,
        Request::ReplyToBroadcast { .. } => Access::CustomerOnly,
        Request::MarkRead { .. }
        | Request::OrderConversations { .. }
        | Request::SearchOnlineContacts(_)
        | Request::ListAgentGroups
        | Request::InitiateConversation { .. }
        | Request::LogoutWith { .. } => Access::Session,
        Request::SendMessage { .. }
        | Request::CloseConversation { .. }
        | Request::ConversationMessages { .. } => Access::Participant,
        Request::TransferConversation { .. } | Request::GetRoutingSettings => Access::Session,
        Request::SetRoutingSettings { .. } => Access::Permission(Permission::BusinessSettings),
        Request::GrabConversation { .. } => Access::Permission(Permission::Grab),
        Request::SetAutoAccept { .. }
        | Request::ListQueue
        | Request::ListConversations
        | Request::AcceptConversation { .. } => Access::Session,
        Request::Logout | Request::ListAgents | Request::WhoAmI => Access::Session,
        Request::SetPresence { .. } | Request::ChangeOwnPassword { .. } => Access::Session,
        Request::ChangeSuperPassword { .. } | Request::SetSecurityLevel { .. } => {
            Access::SuperAdmin
        }
        Request::AddAgent { .. }
        | Request::SetAgentPassword { .. }
        | Request::ListRoles
        | Request::CreateRole { .. }
        | Request::UpdateRole { .. }
        | Request::DeleteRole { .. }
        | Request::SetAgentRole { .. }
        | Request::BindToken { .. }
        | Request::UnbindToken { .. } => Access::Permission(Permission::SystemSettings),
        Request::GetAgentProfile { .. } | Request::GetSecurity | Request::CalibrateToken { .. } => {
            Access::Session
        }
        Request::SetAgentProfile { agent, .. } => {
            Access::SelfOr(*agent, Permission::SystemSettings)
        }
        Request::CreateContact { .. }
        | Request::GetContact { .. }
        | Request::UpdateContact { .. }
        | Request::SetContactState { .. }
        | Request::SearchContacts(_)
        | Request::RecentContacts { .. }
        | Request::ContactsOnline { .. }
        | Request::ListTags
        | Request::EditTags(_)
        | Request::ListGroups
        | Request::History(_)
        | Request::RequestContact { .. }
        | Request::GetContactSettings => Access::Session,
        Request::DeleteContacts { .. } => Access::Permission(Permission::DeleteCustomers),
        Request::EditGroups(_) => Access::Permission(Permission::ManageGroups),
        Request::ImportContacts { .. } | Request::ExportContacts { .. } => {
            Access::Permission(Permission::BulkImport)
        }
        Request::SetContactSettings { .. } => Access::Permission(Permission::BusinessSettings),
        Request::SetQuickReplies { shared: true, .. } => {
            Access::Permission(Permission::SharedQuickReplies)
        }
        analytics!() => Access::Permission(Permission::Analytics),
        Request::ExportChunk { .. } => Access::Session,
        Request::ListOpenSurveys | Request::AnswerSurvey { .. } => Access::CustomerOnly,
        Request::AccountCentreTicket { module } => Access::Permission(centre_permission(*module)),
        value_added!() => Access::Permission(Permission::ValueAdded),
        Request::AnswerContactRequest { .. } | Request::AddAccount { .. } => Access::CustomerOnly,
        // A signal needs the sender's conversation; the account's presence does not.
        Request::Signal { .. } | Request::GetAccountPresence => Access::Participant,
        Request::SetAccountPresenceMode { .. } => Access::Permission(Permission::BusinessSettings),
        Request::SetDesignatedAgent { .. } => Access::Permission(Permission::BusinessSettings),
        Request::SetReminderSettings { .. } => Access::Permission(Permission::SystemSettings),
        Request::SetIdleSettings { .. } => Access::Permission(Permission::BusinessSettings),
        Request::SetNavigationMenu { .. } => Access::Permission(Permission::AccountCentreConfig),
        Request::ChooseMenuOption { .. } => Access::CustomerOnly,
        Request::GetIdleSettings | Request::ListIdleConversations => Access::Session,
        Request::SendInternal { .. } | Request::InternalHistory { .. } => Access::Session,
        Request::SearchInternal { .. } | Request::GetMenuPath { .. } => Access::Session,
        Request::ListTrash | Request::ListMuted | Request::MuteCustomer { .. } => Access::Session,
        Request::GetSpamFilter | Request::AcceptFromTrash { .. } => Access::Session,
        Request::SetSpamFilter { .. } => Access::Permission(Permission::BusinessSettings),
        Request::ForwardSms { .. } | Request::RateConversation { .. } => Access::CustomerOnly,
        csat_settings!() => Access::Permission(Permission::AccountCentreConfig),
        Request::CsatReport(_) => Access::Permission(Permission::Analytics),
        Request::AdminSmsTopUp { .. } | Request::AdminSmsBalance { .. } => Access::Operator,
        Request::AdminSmsDeadLetters { .. } | Request::AdminSmsReply { .. } => Access::Operator,
        file_requests!() => Access::Participant,
        Request::ServingAgent | Request::DesignatedChoices => Access::CustomerOnly,
        Request::GetDesignatedAgent | Request::ListQuickReplies | Request::GetNavigationMenu => {
            Access::Session
        }
        Request::SetQuickReplies { shared: false, .. } | Request::GetServerTime => Access::Session,
        Request::GetAgentPrefs | Request::SetAgentPrefs { .. } => Access::Session,
        Request::GetReminderSettings | Request::RequestContactFiled { .. } => Access::Session,
        Request::GetContactOwners { .. } => Access::Session,
        Request::AdminOnAccount { .. } | Request::AdminImportTokens { .. } => Access::Operator,
        Request::AdminUnlockToken { .. } | Request::AdminUnlockAgent { .. } => Access::Operator,
        Request::AdminRotateCustomerKey { .. } | Request::AdminCreateAccount { .. } => {
            Access::Operator
        }
        Request::AdminListAccounts { .. } | Request::AdminShowAccount { .. } => Access::Operator,
        Request::AdminAddAgent { .. } | Request::AdminSetAgentPassword { .. } => Access::Operator,
        Request::AdminListAgents { .. } | Request::AdminStats => Access::Operator,
        Request::AdminClockShow | Request::AdminClockSet { .. } => Access::Operator,
        Request::AdminClockAdvance { .. } | Request::AdminMetrics => Access::Operator,
        Request::AdminCheckStorage | Request::AdminDeleteAccount { .. } => Access::Operator,
        Request::AdminBackupCreate | Request::AdminBackupList => Access::Operator,
        Request::AdminBackupVerify { .. } | Request::AdminAccountChanges { .. } => Access::Operator,
        Request::AdminFreezeAccount { .. } | Request::AdminExportAccount { .. } => Access::Operator,
        Request::AdminImportAccount { .. } | Request::AdminAccountMoved { .. } => Access::Operator,
        Request::AdminApplyAccountChanges { .. } => Access::Operator,
        value_added_admin!() => Access::Operator,
        web_requests!() => web_access(request),
        profile_requests!() => profile_access(request),
    }
}

/// E1 with the enterprise-space permission (14), E2 with the centre's configuration
/// (16: §7.7 is customisation of the service), the approved style to the window, the
/// review to the operator.
fn profile_access(request: &Request) -> Access {
    match request {
        // §10 / permission list: "账户信息 … 修改企业资料" — the profile is account
        // information (13), not the enterprise space (14).
        Request::GetEnterpriseProfile | Request::SubmitEnterpriseProfile { .. } => {
            Access::Permission(Permission::AccountInfo)
        }
        Request::GetChatWindowStyle | Request::SubmitChatWindowStyle { .. } => {
            Access::Permission(Permission::AccountCentreConfig)
        }
        Request::GetWindowStyle => Access::CustomerOnly,
        _ => Access::Operator,
    }
}

/// The web requests' half of the table: codes and the automatic invitation with
/// permission 16 (§7.13 "制作在线咨询图标"), reports with analytics (§10.4 note), the
/// visitors to any agent, the rest to the customer or visitor itself.
fn web_access(request: &Request) -> Access {
    match request {
        Request::ListEntryCodes
        | Request::CreateEntryCode { .. }
        | Request::EditEntryCode { .. }
        | Request::DeleteEntryCode { .. }
        | Request::SetAutoInvite { .. }
        | Request::SetAllowedOrigins { .. }
        | Request::GetAllowedOrigins => Access::Permission(Permission::AccountCentreConfig),
        Request::GetVisitTrend { .. } | Request::GetSiteAnalytics { .. } => {
            Access::Permission(Permission::Analytics)
        }
        Request::ListSiteVisitors
        | Request::GetVisitorTrail { .. }
        | Request::InviteVisitor { .. }
        | Request::GetAutoInvite => Access::Session,
        Request::GetEntryCode { .. }
        | Request::OpenConversationByCode { .. }
        | Request::PageView(_)
        | Request::PageLeft
        | Request::AnswerInvitation { .. } => Access::CustomerOnly,
        // Not a web request: never called with one (the caller matched `web_requests!`).
        _ => Access::Operator,
    }
}

/// The permission behind an account-centre module's ticket.
fn centre_permission(module: AccountCentreModule) -> Permission {
    match module {
        AccountCentreModule::AccountInfo => Permission::AccountInfo,
        AccountCentreModule::EnterpriseSpace => Permission::EnterpriseSpace,
        AccountCentreModule::Campaigns => Permission::Campaigns,
        AccountCentreModule::ServiceConfig => Permission::AccountCentreConfig,
    }
}

/// The super admin agent number.
pub const SUPER_ADMIN_AGENT: u32 = 1001;

/// Allows or refuses `request` for `who`, with the error code to answer.
pub fn authorize(who: Principal, request: &Request) -> Result<(), ErrorCode> {
    let need = required_access(request);
    match (who, need) {
        // The operator administers; it does not log in as an agent on the admin socket.
        (Principal::Operator, Access::Operator) => Ok(()),
        (Principal::Operator, _) => Err(ErrorCode::NOT_LOGGED_IN),
        (_, Access::Operator) => Err(ErrorCode::ADMIN_ONLY),
        (Principal::Customer { .. }, Access::Anyone) => Err(ErrorCode::ALREADY_LOGGED_IN),
        (Principal::Customer { .. }, Access::CustomerOnly | Access::Participant) => Ok(()),
        (Principal::Customer { .. }, _) => Err(ErrorCode::PERMISSION_DENIED),
        (Principal::Agent { .. }, Access::CustomerOnly) => Err(ErrorCode::PERMISSION_DENIED),
        (Principal::Agent { .. }, Access::Participant) => Ok(()),
        (Principal::Anonymous, Access::Anyone) => Ok(()),
        (Principal::Anonymous, _) => Err(ErrorCode::NOT_LOGGED_IN),
        (Principal::Agent { .. }, Access::Anyone) => Err(ErrorCode::ALREADY_LOGGED_IN),
        (Principal::Agent { .. }, Access::Session) => Ok(()),
        (Principal::Agent { permissions, .. }, Access::Permission(p)) => {
            if permissions.contains(p) {
                Ok(())
            } else {
                Err(ErrorCode::PERMISSION_DENIED)
            }
        }
        (
            Principal::Agent {
                agent, permissions, ..
            },
            Access::SelfOr(target, p),
        ) => {
            if agent == target || permissions.contains(p) {
                Ok(())
            } else {
                Err(ErrorCode::PERMISSION_DENIED)
            }
        }
        (Principal::Agent { agent, .. }, Access::SuperAdmin) => {
            if agent == SUPER_ADMIN_AGENT {
                Ok(())
            } else {
                Err(ErrorCode::PERMISSION_DENIED)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_decisions() {
        let agent = |perms: PermissionSet, agent| Principal::Agent {
            account: 1,
            agent,
            permissions: perms,
        };
        let add = Request::AddAgent {
            agent: 1002,
            nickname: "x".into(),
            role: None,
        };
        assert_eq!(
            authorize(Principal::Anonymous, &add),
            Err(ErrorCode::NOT_LOGGED_IN)
        );
        assert_eq!(
            authorize(agent(PermissionSet::empty(), 1002), &add),
            Err(ErrorCode::PERMISSION_DENIED)
        );
        assert_eq!(
            authorize(
                agent(
                    PermissionSet::empty().with(Permission::SystemSettings),
                    1002
                ),
                &add
            ),
            Ok(())
        );
        assert_eq!(
            authorize(agent(PermissionSet::all(), 1001), &Request::AdminStats),
            Err(ErrorCode::ADMIN_ONLY)
        );
        assert_eq!(authorize(Principal::Operator, &Request::AdminStats), Ok(()));
        let sup = Request::ChangeSuperPassword {
            old_super_password: String::new(),
            new_super_password: String::new(),
        };
        assert_eq!(
            authorize(agent(PermissionSet::all(), 1002), &sup),
            Err(ErrorCode::PERMISSION_DENIED)
        );
        assert_eq!(authorize(agent(PermissionSet::empty(), 1001), &sup), Ok(()));
    }
}
