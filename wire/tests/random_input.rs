//! Property tests: random and mutated peer input never panics the frame decoder, the body
//! decoders or the client connection, and framing does not depend on how reads are cut.
//!
//! Each property runs a bounded number of cases so the file finishes in seconds; the
//! fuzz targets are the place for long runs.

mod support;

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
use kefu_wire::frame::{put_frame, HEADER_LEN};
use kefu_wire::{
    AccountCentreModule, AccountInfo, AgentFigures, AgentInfo, AgentProfile, Body,
    ClientConnection, DisplayMode, ErrorBody, ErrorCode, Event, Frame, FrameDecoder, FrameKind,
    GoAway, GoAwayTo, Hello, Ping, Plan, Pong, Presence, PresenceChange, Push, PushAck, QuickReply,
    Request, Response, RoleInfo, SecurityInfo, SecurityLevel, SessionInfo, ShardStats,
    TokenFileFormat, Welcome, WireError, DEFAULT_MAX_FRAME, MAX_FRAME_CEILING,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use support::{event_index, request_index, response_index};

/// Cases per property: enough to reach the odd corners, few enough for a quick `cargo test`.
const CASES: u32 = 2_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Input strategies
// ---------------------------------------------------------------------------------------

/// Bytes with no structure at all.
fn raw_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..300)
}

/// Frames with plausible headers (known and unknown kinds, lengths that may lie) around
/// random bodies that usually start with the version byte, so decoding gets past the
/// header and into the bodies.
fn framed_garbage() -> impl Strategy<Value = Vec<u8>> {
    let frame = (
        prop_oneof![8 => 1u16..=13, 1 => any::<u16>()],
        any::<u16>(),
        any::<u32>(),
        prop_oneof![4 => Just(Some(1u8)), 1 => option::of(any::<u8>())],
        vec(any::<u8>(), 0..60),
        prop_oneof![8 => Just(0i64), 1 => -3i64..=3, 1 => any::<u32>().prop_map(i64::from)],
    )
        .prop_map(|(kind, flags, corr, version, rest, len_error)| {
            let body: Vec<u8> = version.into_iter().chain(rest).collect();
            let len = i64::try_from(body.len()).unwrap_or(0) + len_error;
            let len = u32::try_from(len.clamp(0, i64::from(u32::MAX))).unwrap_or(0);
            let mut out = Vec::with_capacity(HEADER_LEN + body.len());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&kind.to_be_bytes());
            out.extend_from_slice(&flags.to_be_bytes());
            out.extend_from_slice(&corr.to_be_bytes());
            out.extend_from_slice(&body);
            out
        });
    vec(frame, 1..5).prop_map(|frames| frames.concat())
}

/// A valid stream of server frames with a few bytes flipped, inserted or removed.
fn mutated_server_stream() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(server_frame(), 1..5),
        vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..6),
    )
        .prop_map(|(frames, edits)| {
            let mut bytes = encode_all(&frames).to_vec();
            for (at, op, byte) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] ^= byte | 1,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            bytes
        })
}

/// Peer input of every flavour above.
fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![raw_bytes(), framed_garbage(), mutated_server_stream()]
}

// ---------------------------------------------------------------------------------------
// Message strategies (valid values of every variant)
//
// `request()`, `response()` and `push()` draw every variant of `Request`, `Response` and
// `Event`; `every_variant_is_generated` below checks it with exhaustive matches, so an
// appended variant fails to compile until it has a strategy here.
// ---------------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn presence() -> impl Strategy<Value = Presence> {
    prop_oneof![
        Just(Presence::Online),
        Just(Presence::Away),
        Just(Presence::Busy),
        Just(Presence::Offline),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![Just(Plan::Gold), Just(Plan::Silver)]
}

fn display_mode() -> impl Strategy<Value = DisplayMode> {
    prop_oneof![Just(DisplayMode::Nickname), Just(DisplayMode::AgentNumber)]
}

fn security_level() -> impl Strategy<Value = SecurityLevel> {
    prop_oneof![
        Just(SecurityLevel::Low),
        Just(SecurityLevel::Medium),
        Just(SecurityLevel::High),
    ]
}

fn token_file_format() -> impl Strategy<Value = TokenFileFormat> {
    prop_oneof![Just(TokenFileFormat::Pskc), Just(TokenFileFormat::Csv)]
}

fn profile() -> impl Strategy<Value = AgentProfile> {
    (text(), text(), display_mode(), text()).prop_map(|(nickname, group, display, phone)| {
        AgentProfile {
            nickname,
            group,
            display,
            phone,
        }
    })
}

fn channel() -> impl Strategy<Value = Channel> {
    prop_oneof![
        Just(Channel::Desktop),
        Just(Channel::Web),
        Just(Channel::Mobile),
    ]
}

fn customer_id() -> impl Strategy<Value = CustomerId> {
    prop_oneof![
        text().prop_map(CustomerId::Identified),
        any::<[u8; 16]>().prop_map(CustomerId::Visitor),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        Just(Entry::Auto),
        any::<u32>().prop_map(Entry::Agent),
        text().prop_map(Entry::Group),
    ]
}

fn message_body() -> impl Strategy<Value = MessageBody> {
    prop_oneof![
        text().prop_map(MessageBody::Text),
        text().prop_map(|reference| MessageBody::Image { reference }),
        (text(), text(), any::<u64>()).prop_map(|(reference, name, size)| MessageBody::File {
            reference,
            name,
            size,
        }),
    ]
}

fn party() -> impl Strategy<Value = Party> {
    prop_oneof![
        Just(Party::Customer),
        any::<u32>().prop_map(Party::Agent),
        Just(Party::System),
    ]
}

fn conversation_state() -> impl Strategy<Value = ConversationState> {
    prop_oneof![
        option::of(any::<u32>()).prop_map(|target| ConversationState::Queued { target }),
        any::<u32>().prop_map(|agent| ConversationState::Assigned { agent }),
        Just(ConversationState::Closed),
        Just(ConversationState::InMenu),
    ]
}

fn conversation_info() -> impl Strategy<Value = ConversationInfo> {
    (
        any::<u64>(),
        customer_id(),
        channel(),
        conversation_state(),
        any::<i64>(),
        any::<u32>(),
    )
        .prop_map(
            |(conversation, customer, channel, state, opened_at, unread)| ConversationInfo {
                conversation,
                customer,
                channel,
                state,
                opened_at,
                unread,
            },
        )
}

fn routing_config() -> impl Strategy<Value = kefu_wire::chat::RoutingConfig> {
    let rule = (any::<u8>(), any::<u16>(), any::<u16>(), text()).prop_map(
        |(weekdays, start_minute, end_minute, text)| kefu_wire::chat::WelcomeRule {
            weekdays,
            start_minute,
            end_minute,
            text,
        },
    );
    (
        (
            any::<bool>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<i16>(),
        ),
        vec(rule, 0..3),
        option::of(text()),
        option::of(text()),
    )
        .prop_map(
            |((exclusive, nr, warn, transfer, offset), welcome, busy, away)| {
                kefu_wire::chat::RoutingConfig {
                    exclusive,
                    no_response_secs: nr,
                    no_response_warn_secs: warn,
                    transfer_timeout_secs: transfer,
                    utc_offset_minutes: offset,
                    welcome,
                    busy_reply: busy,
                    away_reply: away,
                }
            },
        )
}

fn message_info() -> impl Strategy<Value = MessageInfo> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<i64>(),
        party(),
        message_body(),
    )
        .prop_map(|(conversation, id, at, from, body)| MessageInfo {
            conversation,
            id,
            at,
            from,
            body,
        })
}

fn customer_session() -> impl Strategy<Value = CustomerSession> {
    (
        any::<u64>(),
        customer_id(),
        option::of(any::<[u8; 32]>()),
        option::of(conversation_info()),
    )
        .prop_map(
            |(account, customer, visitor_token, conversation)| CustomerSession {
                account,
                customer,
                visitor_token,
                conversation,
            },
        )
}

fn code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        prop::sample::select(ErrorCode::ALL.to_vec()),
        any::<u16>().prop_map(ErrorCode),
    ]
}

/// Every `Request` variant, each group weighted by its number of variants.
fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        17 => agent_and_admin_request(),
        16 => role_and_security_request(),
        18 => conversation_request(),
        20 => crm_request(),
        5 => extras_request(),
        3 => signal_request(),
        5 => clock_request(),
        4 => operations_request(),
        2 => backup_request(),
        5 => read_state_request(),
        5 => prefs_request(),
        3 => automation_request(),
        3 => menu_request(),
        6 => spam_request(),
        5 => sms_request(),
        3 => files_request(),
        18 => web_request(),
        4 => report_request(),
        4 => centre_request(),
        7 => profile_request(),
        4 => move_request(),
    ]
}

fn account_entry() -> impl Strategy<Value = kefu_wire::account_move::AccountEntry> {
    (text(), vec(any::<u8>(), 0..12), vec(any::<u8>(), 0..12))
        .prop_map(|(cf, key, value)| kefu_wire::account_move::AccountEntry { cf, key, value })
}

fn account_cursor() -> impl Strategy<Value = kefu_wire::account_move::AccountCursor> {
    (text(), vec(any::<u8>(), 0..12))
        .prop_map(|(cf, key)| kefu_wire::account_move::AccountCursor { cf, key })
}

/// Moving an account between appliances (section 40.6).
fn move_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u64>(), any::<bool>())
            .prop_map(|(account, frozen)| Request::AdminFreezeAccount { account, frozen }),
        (any::<u64>(), option::of(account_cursor()))
            .prop_map(|(account, after)| Request::AdminExportAccount { account, after }),
        (any::<u64>(), vec(account_entry(), 0..3), any::<bool>()).prop_map(
            |(account, entries, first)| Request::AdminImportAccount {
                account,
                entries,
                first
            }
        ),
        (any::<u64>(), text())
            .prop_map(|(account, address)| Request::AdminAccountMoved { account, address }),
        (any::<u64>(), any::<u32>(), text(), option::of(text())).prop_map(
            |(account, agent, password, otp)| Request::LoginReadOnly {
                account,
                agent,
                password,
                otp
            }
        ),
        (any::<u64>(), option::of(any::<u64>()))
            .prop_map(|(account, after)| Request::AdminAccountChanges { account, after }),
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            vec(account_change(), 0..3)
        )
            .prop_map(|(account, after, upto, changes)| {
                Request::AdminApplyAccountChanges {
                    account,
                    after,
                    upto,
                    changes,
                }
            }),
    ]
}

fn account_change() -> impl Strategy<Value = kefu_wire::account_move::AccountChange> {
    use kefu_wire::account_move::AccountChange;
    prop_oneof![
        (text(), vec(any::<u8>(), 0..12), vec(any::<u8>(), 0..12))
            .prop_map(|(cf, key, value)| AccountChange::Put { cf, key, value }),
        (text(), vec(any::<u8>(), 0..12)).prop_map(|(cf, key)| AccountChange::Delete { cf, key }),
        (text(), vec(any::<u8>(), 0..12), vec(any::<u8>(), 0..12))
            .prop_map(|(cf, start, end)| AccountChange::DeleteRange { cf, start, end }),
        Just(AccountChange::Clear),
    ]
}

fn enterprise_profile() -> impl Strategy<Value = kefu_wire::profile::EnterpriseProfile> {
    (text(), text(), text(), text(), text(), text(), text()).prop_map(
        |(full_name, short_name, industry, address, phone, web_site, description)| {
            kefu_wire::profile::EnterpriseProfile {
                full_name,
                short_name,
                industry,
                address,
                phone,
                web_site,
                description,
            }
        },
    )
}

fn window_style() -> impl Strategy<Value = kefu_wire::profile::ChatWindowStyle> {
    (text(), text(), text(), text(), text(), text()).prop_map(
        |(title, greeting, theme, logo_url, link_text, link_url)| {
            kefu_wire::profile::ChatWindowStyle {
                title,
                greeting,
                theme,
                logo_url,
                link_text,
                link_url,
            }
        },
    )
}

fn review_kind() -> impl Strategy<Value = kefu_wire::profile::ReviewKind> {
    prop_oneof![
        Just(kefu_wire::profile::ReviewKind::Profile),
        Just(kefu_wire::profile::ReviewKind::Style),
    ]
}

fn reviewed<T: std::fmt::Debug + Clone, S: Strategy<Value = T>>(
    t: fn() -> S,
) -> impl Strategy<Value = kefu_wire::profile::Reviewed<T>> {
    use kefu_wire::profile::{Rejected, Reviewed, Submitted};
    (
        option::of(t()),
        option::of((t(), any::<i64>()).prop_map(|(edit, at)| Submitted { edit, at })),
        option::of(
            (t(), text(), any::<i64>()).prop_map(|(edit, reason, at)| Rejected {
                edit,
                reason,
                at,
            }),
        ),
    )
        .prop_map(|(current, pending, rejected)| Reviewed {
            current,
            pending,
            rejected,
        })
}

/// The enterprise profile and the window's style under review (section 41).
fn profile_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::GetEnterpriseProfile),
        enterprise_profile().prop_map(|profile| Request::SubmitEnterpriseProfile { profile }),
        Just(Request::GetChatWindowStyle),
        window_style().prop_map(|style| Request::SubmitChatWindowStyle { style }),
        Just(Request::GetWindowStyle),
        (
            option::of((any::<i64>(), any::<u64>(), review_kind()).prop_map(
                |(submitted_at, account, kind)| kefu_wire::profile::ProfileReviewCursor {
                    submitted_at,
                    account,
                    kind,
                }
            )),
            any::<u32>()
        )
            .prop_map(|(after, limit)| Request::AdminProfileReviewQueue { after, limit }),
        (any::<u64>(), review_kind(), any::<bool>(), text()).prop_map(
            |(account, kind, approve, reason)| Request::AdminReviewProfile {
                account,
                kind,
                approve,
                reason,
            }
        ),
    ]
}

/// Their responses (section 41).
fn profile_response() -> impl Strategy<Value = Response> {
    use kefu_wire::profile::{
        ProfileReview, ProfileReviewCursor, ProfileReviewPage, ReviewSubject,
    };
    let subject = prop_oneof![
        enterprise_profile().prop_map(ReviewSubject::Profile),
        window_style().prop_map(ReviewSubject::Style),
    ];
    prop_oneof![
        reviewed(enterprise_profile).prop_map(|r| Response::EnterpriseProfile(Box::new(r))),
        reviewed(window_style).prop_map(|r| Response::ChatWindowStyle(Box::new(r))),
        option::of(window_style()).prop_map(Response::WindowStyle),
        (
            vec(
                (any::<u64>(), any::<i64>(), subject).prop_map(
                    |(account, submitted_at, subject)| ProfileReview {
                        account,
                        submitted_at,
                        subject,
                    }
                ),
                0..3
            ),
            option::of((any::<i64>(), any::<u64>(), review_kind()).prop_map(
                |(submitted_at, account, kind)| ProfileReviewCursor {
                    submitted_at,
                    account,
                    kind,
                }
            ))
        )
            .prop_map(|(items, next)| Response::ProfileReviews(ProfileReviewPage { items, next })),
    ]
}

/// The account centre's sign-ins (PROTOCOL.md section 39).
fn centre_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u64>(), any::<u32>(), text(), option::of(text())).prop_map(
            |(account, agent, password, otp)| Request::CentreLogin {
                account,
                agent,
                password,
                otp
            }
        ),
        vec(any::<u8>(), 0..80).prop_map(|ticket| Request::CentreTicketLogin { ticket }),
        (any::<u64>(), broadcast_draft(), option::of(text()))
            .prop_map(|(survey, draft, otp)| Request::SubmitSurveyBroadcast { survey, draft, otp }),
        (any::<u64>(), broadcast_draft(), option::of(text())).prop_map(|(survey, draft, otp)| {
            Request::PreviewSurveyBroadcast { survey, draft, otp }
        }),
    ]
}

fn code_draft() -> impl Strategy<Value = kefu_wire::web::EntryCodeDraft> {
    use kefu_wire::web::{CodeKind, EntryCodeDraft};
    let kind = prop_oneof![
        Just(CodeKind::Fixed),
        Just(CodeKind::Floating),
        Just(CodeKind::Link)
    ];
    (text(), kind, entry(), text(), text(), any::<bool>()).prop_map(
        |(description, kind, routing, site_url, style, anonymous)| EntryCodeDraft {
            description,
            kind,
            routing,
            site_url,
            style,
            anonymous,
        },
    )
}

fn site_visitor() -> impl Strategy<Value = kefu_wire::web::SiteVisitor> {
    (
        customer_id(),
        any::<i64>(),
        text(),
        text(),
        option::of(text()),
        any::<u32>(),
        any::<bool>(),
        option::of(text()),
    )
        .prop_map(
            |(visitor, arrived_at, url, title, keywords, pages, accepted_invitation, region)| {
                kefu_wire::web::SiteVisitor {
                    visitor,
                    arrived_at,
                    url,
                    title,
                    keywords,
                    pages,
                    accepted_invitation,
                    region,
                }
            },
        )
}

fn visit_day() -> impl Strategy<Value = kefu_wire::web::VisitDay> {
    (
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(day, visits, unique_visitors, page_views, consultations)| kefu_wire::web::VisitDay {
                day,
                visits,
                unique_visitors,
                page_views,
                consultations,
            },
        )
}

fn auto_invite() -> impl Strategy<Value = kefu_wire::web::AutoInviteSettings> {
    (any::<bool>(), any::<u32>(), text()).prop_map(|(enabled, after_secs, text)| {
        kefu_wire::web::AutoInviteSettings {
            enabled,
            after_secs,
            text,
        }
    })
}

fn date() -> impl Strategy<Value = kefu_wire::reports::Date> {
    (any::<u16>(), any::<u8>(), any::<u8>())
        .prop_map(|(year, month, day)| kefu_wire::reports::Date { year, month, day })
}

fn survey_question() -> impl Strategy<Value = kefu_wire::survey::SurveyQuestion> {
    (text(), any::<bool>(), vec(text(), 0..3)).prop_map(|(text, multiple, options)| {
        kefu_wire::survey::SurveyQuestion {
            text,
            multiple,
            options,
        }
    })
}

/// The web channel's requests (sections 31–33).
fn web_request() -> impl Strategy<Value = Request> {
    use kefu_wire::web::PageView;
    prop_oneof![
        Just(Request::ListEntryCodes),
        code_draft().prop_map(|draft| Request::CreateEntryCode { draft }),
        (any::<u32>(), code_draft()).prop_map(|(id, draft)| Request::EditEntryCode { id, draft }),
        any::<u32>().prop_map(|id| Request::DeleteEntryCode { id }),
        any::<u32>().prop_map(|id| Request::GetEntryCode { id }),
        any::<u32>().prop_map(|id| Request::OpenConversationByCode { id }),
        (text(), text(), text()).prop_map(|(url, title, referrer)| Request::PageView(PageView {
            url,
            title,
            referrer
        })),
        Just(Request::PageLeft),
        Just(Request::ListSiteVisitors),
        customer_id().prop_map(|visitor| Request::GetVisitorTrail { visitor }),
        (customer_id(), text())
            .prop_map(|(visitor, text)| Request::InviteVisitor { visitor, text }),
        (any::<u64>(), any::<bool>())
            .prop_map(|(invitation, accept)| Request::AnswerInvitation { invitation, accept }),
        Just(Request::GetAutoInvite),
        auto_invite().prop_map(|settings| Request::SetAutoInvite { settings }),
        (any::<u32>(), any::<u32>()).prop_map(|(from_day, until_day)| Request::GetVisitTrend {
            from_day,
            until_day
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(from_day, until_day)| {
            Request::GetSiteAnalytics {
                from_day,
                until_day,
            }
        }),
        vec(text(), 0..4).prop_map(|origins| Request::SetAllowedOrigins { origins }),
        Just(Request::GetAllowedOrigins),
    ]
}

/// The web channel's responses (sections 31–33).
fn web_response() -> impl Strategy<Value = Response> {
    use kefu_wire::web::{
        EntryCode, NamedCount, PageVisit, PublicEntryCode, SiteAnalytics, VisitorTrail,
    };
    let code = || {
        (any::<u32>(), code_draft(), any::<i64>(), any::<i64>()).prop_map(
            |(id, draft, created_at, edited_at)| EntryCode {
                id,
                draft,
                created_at,
                edited_at,
            },
        )
    };
    let named = || (text(), any::<u64>()).prop_map(|(name, count)| NamedCount { name, count });
    let page = (
        text(),
        text(),
        text(),
        any::<i64>(),
        option::of(any::<i64>()),
    )
        .prop_map(|(url, title, referrer, at, dwell_ms)| PageVisit {
            url,
            title,
            referrer,
            at,
            dwell_ms,
        });
    prop_oneof![
        vec(code(), 0..3).prop_map(Response::EntryCodes),
        code().prop_map(Response::EntryCode),
        (any::<u32>(), text(), any::<bool>()).prop_map(|(id, style, anonymous)| {
            Response::PublicEntryCode(PublicEntryCode {
                id,
                kind: kefu_wire::web::CodeKind::Link,
                style,
                anonymous,
            })
        }),
        vec(site_visitor(), 0..3).prop_map(Response::SiteVisitors),
        (
            customer_id(),
            vec(page, 0..3),
            vec(text(), 0..3),
            vec(text(), 0..3),
            option::of(text())
        )
            .prop_map(|(visitor, pages, keywords, menu_path, region)| {
                Response::VisitorTrail(VisitorTrail {
                    visitor,
                    pages,
                    keywords,
                    menu_path,
                    region,
                })
            }),
        any::<u64>().prop_map(|invitation| Response::Invited { invitation }),
        auto_invite().prop_map(Response::AutoInviteSettings),
        vec(visit_day(), 0..3).prop_map(Response::VisitTrend),
        (
            vec(visit_day(), 0..3),
            vec(named(), 0..3),
            vec(named(), 0..3)
        )
            .prop_map(|(days, referrers, regions)| Response::SiteAnalytics(
                SiteAnalytics {
                    days,
                    referrers,
                    regions,
                }
            )),
    ]
}

fn survey_draft() -> impl Strategy<Value = kefu_wire::survey::SurveyDraft> {
    (text(), text(), ids(), vec(survey_question(), 0..3)).prop_map(
        |(title, background, groups, questions)| kefu_wire::survey::SurveyDraft {
            title,
            background,
            groups,
            questions,
        },
    )
}

fn survey_info() -> impl Strategy<Value = kefu_wire::survey::SurveyInfo> {
    use kefu_wire::survey::SurveyState;
    let state = prop_oneof![Just(SurveyState::Open), Just(SurveyState::Closed)];
    (
        any::<u64>(),
        any::<u32>(),
        survey_draft(),
        state,
        any::<i64>(),
        option::of(any::<i64>()),
        any::<u64>(),
    )
        .prop_map(
            |(id, agent, draft, state, created_at, closed_at, answers)| {
                kefu_wire::survey::SurveyInfo {
                    id,
                    agent,
                    draft,
                    state,
                    created_at,
                    closed_at,
                    answers,
                }
            },
        )
}

fn report_kind() -> impl Strategy<Value = kefu_wire::reports::ReportKind> {
    use kefu_wire::reports::ReportKind;
    prop_oneof![
        (date(), date(), option::of(any::<u32>()))
            .prop_map(|(from, to, agent)| ReportKind::WorkReport { from, to, agent }),
        any::<u64>().prop_map(|survey| ReportKind::SurveyResults { survey }),
        any::<u64>().prop_map(|survey| ReportKind::SurveyAnswers { survey }),
        (any::<Option<i32>>(), any::<Option<i32>>())
            .prop_map(|(from, to)| ReportKind::Csat { from, to }),
        (any::<Option<i32>>(), any::<Option<i32>>())
            .prop_map(|(from, to)| ReportKind::CsatDetail { from, to }),
        (any::<u32>(), any::<u32>()).prop_map(|(from_day, until_day)| ReportKind::VisitTrend {
            from_day,
            until_day
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(from_day, until_day)| {
            ReportKind::SiteAnalytics {
                from_day,
                until_day,
            }
        }),
    ]
}

fn report_request() -> impl Strategy<Value = Request> {
    use kefu_wire::reports::ExportFormat;
    let format = prop_oneof![Just(ExportFormat::Csv), Just(ExportFormat::Xlsx)];
    prop_oneof![
        (date(), date(), option::of(any::<u32>()))
            .prop_map(|(from, to, agent)| Request::GetWorkReport { from, to, agent }),
        (survey_draft(), option::of(text()))
            .prop_map(|(draft, otp)| Request::CreateSurvey { draft, otp }),
        (any::<u64>(), survey_draft(), option::of(text()))
            .prop_map(|(id, draft, otp)| Request::EditSurvey { id, draft, otp }),
        (any::<u64>(), option::of(text())).prop_map(|(id, otp)| Request::CloseSurvey { id, otp }),
        option::of(text()).prop_map(|otp| Request::ListSurveys { otp }),
        (any::<u64>(), option::of(text()))
            .prop_map(|(id, otp)| Request::GetSurveyResult { id, otp }),
        Just(Request::ListOpenSurveys),
        (any::<u64>(), vec(vec(any::<u8>(), 0..3), 0..3))
            .prop_map(|(survey, choices)| Request::AnswerSurvey { survey, choices }),
        (report_kind(), format, option::of(text())).prop_map(|(report, format, otp)| {
            Request::ExportReport {
                report,
                format,
                otp,
            }
        }),
        (any::<u64>(), any::<u32>())
            .prop_map(|(export, index)| Request::ExportChunk { export, index }),
    ]
}

fn spam_level() -> impl Strategy<Value = kefu_wire::spam::SpamLevel> {
    use kefu_wire::spam::SpamLevel;
    prop_oneof![
        Just(SpamLevel::Off),
        Just(SpamLevel::Low),
        Just(SpamLevel::Medium),
        Just(SpamLevel::High),
    ]
}

/// Spam filter, trash and mute (section 26).
fn spam_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::GetSpamFilter),
        spam_level().prop_map(|level| Request::SetSpamFilter { level }),
        Just(Request::ListTrash),
        any::<u64>().prop_map(|conversation| Request::AcceptFromTrash { conversation }),
        (customer_id(), any::<bool>())
            .prop_map(|(customer, muted)| Request::MuteCustomer { customer, muted }),
        Just(Request::ListMuted),
    ]
}

/// Requests 0–16.
fn agent_and_admin_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u64>(), any::<u32>(), text(), option::of(text())).prop_map(
            |(account, agent, password, otp)| Request::Login {
                account,
                agent,
                password,
                otp
            }
        ),
        (any::<u64>(), any::<u32>(), any::<[u8; 16]>()).prop_map(|(account, agent, token)| {
            Request::Resume {
                account,
                agent,
                token,
            }
        }),
        Just(Request::Logout),
        presence().prop_map(|presence| Request::SetPresence { presence }),
        (any::<u32>(), text(), option::of(any::<u32>())).prop_map(|(agent, nickname, role)| {
            Request::AddAgent {
                agent,
                nickname,
                role,
            }
        }),
        (any::<u32>(), text(), text()).prop_map(|(agent, new_password, super_password)| {
            Request::SetAgentPassword {
                agent,
                new_password,
                super_password,
            }
        }),
        (text(), text()).prop_map(|(old_password, new_password)| {
            Request::ChangeOwnPassword {
                old_password,
                new_password,
            }
        }),
        (text(), text()).prop_map(|(old_super_password, new_super_password)| {
            Request::ChangeSuperPassword {
                old_super_password,
                new_super_password,
            }
        }),
        Just(Request::ListAgents),
        Just(Request::WhoAmI),
        (any::<u64>(), text(), plan(), any::<i64>(), text(), text()).prop_map(
            |(account, name, plan, expires_at, password_1001, super_password)| {
                Request::AdminCreateAccount {
                    account,
                    name,
                    plan,
                    expires_at,
                    password_1001,
                    super_password,
                }
            }
        ),
        (option::of(any::<u64>()), any::<u32>())
            .prop_map(|(after, limit)| Request::AdminListAccounts { after, limit }),
        any::<u64>().prop_map(|account| Request::AdminShowAccount { account }),
        (any::<u64>(), any::<u32>(), text(), option::of(any::<u32>())).prop_map(
            |(account, agent, nickname, role)| Request::AdminAddAgent {
                account,
                agent,
                nickname,
                role,
            }
        ),
        (any::<u64>(), any::<u32>(), text()).prop_map(|(account, agent, new_password)| {
            Request::AdminSetAgentPassword {
                account,
                agent,
                new_password,
            }
        }),
        any::<u64>().prop_map(|account| Request::AdminListAgents { account }),
        Just(Request::AdminStats),
    ]
}

/// Requests 17–32.
fn role_and_security_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::ListRoles),
        (text(), any::<u16>())
            .prop_map(|(name, permissions)| Request::CreateRole { name, permissions }),
        (any::<u32>(), text(), any::<u16>()).prop_map(|(role, name, permissions)| {
            Request::UpdateRole {
                role,
                name,
                permissions,
            }
        }),
        any::<u32>().prop_map(|role| Request::DeleteRole { role }),
        (any::<u32>(), any::<u32>())
            .prop_map(|(agent, role)| Request::SetAgentRole { agent, role }),
        any::<u32>().prop_map(|agent| Request::GetAgentProfile { agent }),
        (any::<u32>(), profile())
            .prop_map(|(agent, profile)| Request::SetAgentProfile { agent, profile }),
        security_level().prop_map(|level| Request::SetSecurityLevel { level }),
        Just(Request::GetSecurity),
        (any::<u32>(), text(), text()).prop_map(|(agent, serial, code)| Request::BindToken {
            agent,
            serial,
            code
        }),
        any::<u32>().prop_map(|agent| Request::UnbindToken { agent }),
        (text(), text(), text()).prop_map(|(serial, code, next_code)| {
            Request::CalibrateToken {
                serial,
                code,
                next_code,
            }
        }),
        (any::<u64>(), vec(any::<u8>(), 0..40))
            .prop_map(|(account, request)| Request::AdminOnAccount { account, request }),
        (
            token_file_format(),
            vec(any::<u8>(), 0..40),
            option::of(text()),
            option::of(text()),
        )
            .prop_map(
                |(format, data, key_hex, password)| Request::AdminImportTokens {
                    format,
                    data,
                    key_hex,
                    password,
                }
            ),
        text().prop_map(|serial| Request::AdminUnlockToken { serial }),
        (any::<u64>(), any::<u32>())
            .prop_map(|(account, agent)| Request::AdminUnlockAgent { account, agent }),
    ]
}

/// Requests 33–50: customers and conversations.
fn conversation_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (
            any::<u64>(),
            text(),
            any::<i64>(),
            any::<[u8; 32]>(),
            channel(),
        )
            .prop_map(|(account, customer, expires_at, signature, channel)| {
                Request::CustomerLogin {
                    account,
                    customer,
                    expires_at,
                    signature,
                    channel,
                }
            }),
        (any::<u64>(), option::of(any::<[u8; 32]>()), channel()).prop_map(
            |(account, token, channel)| Request::VisitorLogin {
                account,
                token,
                channel
            }
        ),
        entry().prop_map(|entry| Request::OpenConversation { entry }),
        (any::<u64>(), any::<u64>(), message_body()).prop_map(
            |(conversation, client_msg_id, body)| Request::SendMessage {
                conversation,
                client_msg_id,
                body,
            }
        ),
        any::<u16>().prop_map(|cap| Request::SetAutoAccept { cap }),
        Just(Request::ListQueue),
        Just(Request::ListConversations),
        any::<u64>().prop_map(|conversation| Request::AcceptConversation { conversation }),
        any::<u64>().prop_map(|conversation| Request::CloseConversation { conversation }),
        any::<u64>().prop_map(|account| Request::AdminRotateCustomerKey { account }),
        (any::<u64>(), any::<u32>()).prop_map(|(conversation, to_agent)| {
            Request::TransferConversation {
                conversation,
                to_agent,
            }
        }),
        (any::<u64>(), any::<bool>()).prop_map(|(conversation, confirmed)| {
            Request::GrabConversation {
                conversation,
                confirmed,
            }
        }),
        (any::<u64>(), any::<u64>(), any::<u16>()).prop_map(|(conversation, after, limit)| {
            Request::ConversationMessages {
                conversation,
                after,
                limit,
            }
        }),
        Just(Request::GetRoutingSettings),
        routing_config().prop_map(|settings| Request::SetRoutingSettings { settings }),
        (any::<u64>(), any::<u32>()).prop_map(|(conversation, agent)| Request::Reselect {
            conversation,
            entry: kefu_wire::chat::Entry::Agent(agent),
        }),
        text().prop_map(|id| Request::InitiateConversation {
            customer: kefu_wire::chat::CustomerId::Identified(id),
            channel: kefu_wire::chat::Channel::Mobile,
        }),
        any::<bool>().prop_map(|keep_conversations| Request::LogoutWith { keep_conversations }),
    ]
}

fn contact_state() -> impl Strategy<Value = ContactState> {
    prop_oneof![
        Just(ContactState::Friend),
        Just(ContactState::Stranger),
        Just(ContactState::Blacklisted),
        Just(ContactState::Pending),
    ]
}

fn ids() -> impl Strategy<Value = Vec<u32>> {
    vec(any::<u32>(), 0..4)
}

fn contact_edit() -> impl Strategy<Value = ContactEdit> {
    (
        (
            option::of(text()),
            option::of(text()),
            option::of(text()),
            option::of(text()),
            option::of(text()),
        ),
        vec((text(), option::of(text())), 0..3),
        option::of(ids()),
        option::of(ids()),
    )
        .prop_map(
            |((real_name, remark, nickname, phone, email), fields, groups, tags)| ContactEdit {
                real_name,
                remark,
                nickname,
                phone,
                email,
                fields,
                groups,
                tags,
            },
        )
}

fn contact_query() -> impl Strategy<Value = ContactQuery> {
    (
        (text(), ids(), ids(), option::of(any::<u32>())),
        (
            option::of(contact_state()),
            option::of(any::<(i64, i64)>()),
            prop_oneof![
                Just(ContactSort::LastContact),
                Just(ContactSort::Name),
                Just(ContactSort::Newest),
            ],
            any::<u32>(),
            any::<u16>(),
        ),
    )
        .prop_map(
            |((text, groups, tags, owner), (state, last_contact, sort, offset, limit))| {
                ContactQuery {
                    text,
                    groups,
                    tags,
                    owner,
                    state,
                    last_contact,
                    sort,
                    offset,
                    limit,
                }
            },
        )
}

fn tag_edit() -> impl Strategy<Value = TagEdit> {
    prop_oneof![
        (text(), any::<u32>()).prop_map(|(name, colour)| TagEdit::Create { name, colour }),
        (any::<u32>(), text()).prop_map(|(id, name)| TagEdit::Rename { id, name }),
        (any::<u32>(), any::<u32>()).prop_map(|(id, colour)| TagEdit::Recolour { id, colour }),
        any::<u32>().prop_map(|id| TagEdit::Delete { id }),
    ]
}

fn group_edit() -> impl Strategy<Value = GroupEdit> {
    prop_oneof![
        text().prop_map(|name| GroupEdit::CreateCategory { name }),
        (text(), option::of(any::<u32>()))
            .prop_map(|(name, category)| GroupEdit::CreateGroup { name, category }),
        (any::<u32>(), text()).prop_map(|(id, name)| GroupEdit::RenameCategory { id, name }),
        (any::<u32>(), text()).prop_map(|(id, name)| GroupEdit::RenameGroup { id, name }),
        any::<u32>().prop_map(|id| GroupEdit::DeleteCategory { id }),
        any::<u32>().prop_map(|id| GroupEdit::DeleteGroup { id }),
        (any::<u32>(), option::of(any::<u32>()), any::<u32>()).prop_map(
            |(id, category, position)| GroupEdit::MoveGroup {
                id,
                category,
                position,
            }
        ),
        (any::<u32>(), any::<u32>())
            .prop_map(|(id, position)| GroupEdit::MoveCategory { id, position }),
    ]
}

fn history_query() -> impl Strategy<Value = HistoryQuery> {
    (
        customer_id(),
        any::<bool>(),
        option::of(any::<u32>()),
        prop_oneof![
            Just(HistoryKind::All),
            Just(HistoryKind::Images),
            Just(HistoryKind::Files),
        ],
        text(),
        option::of(any::<u64>()),
        any::<u16>(),
    )
        .prop_map(
            |(customer, all_time, agent, kind, keyword, before, limit)| HistoryQuery {
                customer,
                all_time,
                agent,
                kind,
                keyword,
                before,
                limit,
            },
        )
}

fn contact_settings() -> impl Strategy<Value = ContactSettings> {
    (any::<bool>(), text(), text()).prop_map(|(auto_friend_request, question, answer)| {
        ContactSettings {
            auto_friend_request,
            question,
            answer,
        }
    })
}

/// Requests 51–70: contacts, tags, groups, import and export, history, friend requests.
fn crm_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (customer_id(), contact_state(), contact_edit()).prop_map(|(customer, state, edit)| {
            Request::CreateContact {
                customer,
                state,
                edit,
            }
        }),
        customer_id().prop_map(|customer| Request::GetContact { customer }),
        (customer_id(), contact_edit())
            .prop_map(|(customer, edit)| Request::UpdateContact { customer, edit }),
        (customer_id(), contact_state())
            .prop_map(|(customer, state)| Request::SetContactState { customer, state }),
        vec(customer_id(), 0..4).prop_map(|customers| Request::DeleteContacts { customers }),
        contact_query().prop_map(Request::SearchContacts),
        (any::<u32>(), any::<u16>())
            .prop_map(|(offset, limit)| Request::RecentContacts { offset, limit }),
        vec(customer_id(), 0..4).prop_map(|customers| Request::ContactsOnline { customers }),
        Just(Request::ListTags),
        tag_edit().prop_map(Request::EditTags),
        Just(Request::ListGroups),
        group_edit().prop_map(Request::EditGroups),
        (vec(any::<u8>(), 0..40), any::<bool>(), any::<bool>())
            .prop_map(|(chunk, first, last)| Request::ImportContacts { chunk, first, last }),
        (any::<u64>(), any::<u32>())
            .prop_map(|(after, limit)| Request::ExportContacts { after, limit }),
        history_query().prop_map(Request::History),
        (customer_id(), text())
            .prop_map(|(customer, note)| Request::RequestContact { customer, note }),
        any::<bool>().prop_map(|accept| Request::AnswerContactRequest { accept }),
        text().prop_map(|answer| Request::AddAccount { answer }),
        Just(Request::GetContactSettings),
        contact_settings().prop_map(|settings| Request::SetContactSettings { settings }),
    ]
}

fn quick_reply() -> impl Strategy<Value = QuickReply> {
    (text(), text()).prop_map(|(shortcut, text)| QuickReply { shortcut, text })
}

fn account_centre_module() -> impl Strategy<Value = AccountCentreModule> {
    prop_oneof![
        Just(AccountCentreModule::AccountInfo),
        Just(AccountCentreModule::EnterpriseSpace),
        Just(AccountCentreModule::Campaigns),
        Just(AccountCentreModule::ServiceConfig),
    ]
}

/// Requests 71–75: quick replies, analytics, account-centre tickets, broadcasts.
fn extras_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::ListQuickReplies),
        (any::<bool>(), vec(quick_reply(), 0..4))
            .prop_map(|(shared, replies)| Request::SetQuickReplies { shared, replies }),
        any::<(i64, i64)>().prop_map(|(from, until)| Request::GetAnalytics { from, until }),
        account_centre_module().prop_map(|module| Request::AccountCentreTicket { module }),
        (
            ids(),
            vec(customer_id(), 0..4),
            message_body(),
            option::of(text())
        )
            .prop_map(|(groups, customers, body, otp)| Request::Broadcast {
                groups,
                customers,
                body,
                otp
            }),
    ]
}

fn signal() -> impl Strategy<Value = Signal> {
    let kind = prop_oneof![
        Just(CallKind::Voice),
        Just(CallKind::Video),
        Just(CallKind::RemoteAssist),
    ];
    let phase = prop_oneof![
        Just(CallPhase::Offer),
        Just(CallPhase::Answer),
        Just(CallPhase::IceCandidate),
        Just(CallPhase::HangUp),
    ];
    prop_oneof![
        Just(Signal::TypingStarted),
        Just(Signal::TypingStopped),
        Just(Signal::Shake),
        (kind, phase, any::<u64>(), vec(any::<u8>(), 0..40)).prop_map(
            |(kind, phase, call, payload)| Signal::Call(CallSignal {
                kind,
                phase,
                call,
                payload
            })
        ),
    ]
}

fn account_presence_mode() -> impl Strategy<Value = AccountPresenceMode> {
    prop_oneof![
        Just(AccountPresenceMode::AlwaysOnline),
        Just(AccountPresenceMode::FromAgents),
    ]
}

/// Requests 76–78: signals and the account's presence.
fn signal_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u64>(), signal()).prop_map(|(conversation, signal)| Request::Signal {
            conversation,
            signal
        }),
        account_presence_mode().prop_map(|mode| Request::SetAccountPresenceMode { mode }),
        Just(Request::GetAccountPresence),
    ]
}

/// Requests 79–83 and 88–90: the operator's test clock, resumable sessions, designated agent.
fn clock_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::AdminClockShow),
        any::<i64>().prop_map(|unix_ms| Request::AdminClockSet { unix_ms }),
        any::<i64>().prop_map(|ms| Request::AdminClockAdvance { ms }),
        Just(Request::EnableResume),
        (resume_token(), any::<u64>())
            .prop_map(|(token, last_ack)| Request::ResumeSession { token, last_ack }),
        Just(Request::GetDesignatedAgent),
        designated().prop_map(|settings| Request::SetDesignatedAgent { settings }),
        Just(Request::DesignatedChoices),
    ]
}

/// Requests 84–87: metrics, storage and clock checks, account deletion (section 20).
fn operations_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::GetServerTime),
        Just(Request::AdminMetrics),
        Just(Request::AdminCheckStorage),
        any::<u64>().prop_map(|account| Request::AdminDeleteAccount { account }),
    ]
}

/// Designated-agent settings (requests 88–90).
fn designated() -> impl Strategy<Value = kefu_wire::chat::DesignatedSettings> {
    use kefu_wire::chat::DesignatedMode;
    (
        prop_oneof![
            Just(DesignatedMode::Off),
            Just(DesignatedMode::Agents),
            Just(DesignatedMode::Groups)
        ],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(mode, hide_offline, no_response)| kefu_wire::chat::DesignatedSettings {
                mode,
                hide_offline,
                no_response,
            },
        )
}

/// Requests 91–93: backups (section 21).
fn backup_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::AdminBackupCreate),
        Just(Request::AdminBackupList),
        any::<u32>().prop_map(|backup_id| Request::AdminBackupVerify { backup_id }),
    ]
}

fn backup_info() -> impl Strategy<Value = kefu_wire::BackupInfo> {
    (
        any::<u32>(),
        any::<i64>(),
        any::<u64>(),
        any::<u32>(),
        option::of(any::<u64>()),
    )
        .prop_map(
            |(backup_id, created_at, size_bytes, files, keys)| kefu_wire::BackupInfo {
                backup_id,
                created_at,
                size_bytes,
                files,
                keys,
            },
        )
}

/// Requests 94–98: read state and order, online search, agent groups, the serving agent.
fn read_state_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        any::<u64>().prop_map(|conversation| Request::MarkRead { conversation }),
        vec(any::<u64>(), 0..6).prop_map(|order| Request::OrderConversations { order }),
        contact_query().prop_map(Request::SearchOnlineContacts),
        Just(Request::ListAgentGroups),
        Just(Request::ServingAgent),
    ]
}

fn agent_prefs() -> impl Strategy<Value = kefu_wire::prefs::AgentPrefs> {
    (text(), any::<bool>(), any::<bool>()).prop_map(|(personal_auto_reply, own, added)| {
        kefu_wire::prefs::AgentPrefs {
            personal_auto_reply,
            notify_own_additions: own,
            notify_customer_added: added,
        }
    })
}

fn reminder_settings() -> impl Strategy<Value = kefu_wire::prefs::ReminderSettings> {
    any::<u8>()
        .prop_map(|near_limit_percent| kefu_wire::prefs::ReminderSettings { near_limit_percent })
}

/// Requests 99–103: agents' preferences, reminder settings, filed friend requests.
fn prefs_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::GetAgentPrefs),
        agent_prefs().prop_map(|prefs| Request::SetAgentPrefs { prefs }),
        Just(Request::GetReminderSettings),
        reminder_settings().prop_map(|settings| Request::SetReminderSettings { settings }),
        (customer_id(), text(), contact_edit()).prop_map(|(customer, note, edit)| {
            Request::RequestContactFiled {
                customer,
                note,
                edit,
            }
        }),
        customer_id().prop_map(|customer| Request::GetContactOwners { customer }),
    ]
}

fn idle_settings() -> impl Strategy<Value = kefu_wire::automation::IdleSettings> {
    (any::<bool>(), any::<u16>(), any::<bool>(), text()).prop_map(
        |(remind, minutes, auto_reply, text)| kefu_wire::automation::IdleSettings {
            remind,
            minutes,
            auto_reply,
            text,
        },
    )
}

fn idle_info() -> impl Strategy<Value = kefu_wire::automation::IdleInfo> {
    (any::<u64>(), any::<bool>(), any::<i64>(), any::<bool>()).prop_map(
        |(conversation, idle, since, prompted)| kefu_wire::automation::IdleInfo {
            conversation,
            idle,
            since,
            prompted,
        },
    )
}

fn internal_message() -> impl Strategy<Value = kefu_wire::internal::InternalMessage> {
    (
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        any::<i64>(),
        text(),
    )
        .prop_map(
            |(id, from, to, at, text)| kefu_wire::internal::InternalMessage {
                id,
                from,
                to,
                at,
                text,
            },
        )
}

/// Requests 104–109: idle-customer settings and list (section 23), internal chat
/// (section 24).
fn automation_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::GetIdleSettings),
        idle_settings().prop_map(|settings| Request::SetIdleSettings { settings }),
        Just(Request::ListIdleConversations),
        (any::<u32>(), any::<u64>(), text()).prop_map(|(to, client_msg_id, text)| {
            Request::SendInternal {
                to,
                client_msg_id,
                text,
            }
        }),
        (any::<u32>(), any::<u64>(), any::<u16>()).prop_map(|(with, before, limit)| {
            Request::InternalHistory {
                with,
                before,
                limit,
            }
        }),
        (option::of(any::<u32>()), text(), any::<u16>())
            .prop_map(|(with, text, limit)| Request::SearchInternal { with, text, limit }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(account, units)| Request::AdminBalanceTopUp { account, units }),
        any::<u64>().prop_map(|account| Request::AdminBalanceShow { account }),
        option::of(text()).prop_map(|otp| Request::GetBalance { otp }),
        (broadcast_draft(), option::of(text()))
            .prop_map(|(draft, otp)| Request::SubmitBroadcast { draft, otp }),
        (any::<u64>(), option::of(text()))
            .prop_map(|(id, otp)| Request::CancelBroadcast { id, otp }),
        (any::<u64>(), broadcast_draft(), option::of(text()))
            .prop_map(|(id, draft, otp)| Request::ResubmitBroadcast { id, draft, otp }),
        option::of(text()).prop_map(|otp| Request::ListBroadcasts { otp }),
        any::<u64>().prop_map(|account| Request::AdminBroadcastReviewList { account }),
        (any::<u64>(), any::<u64>(), any::<bool>(), text()).prop_map(
            |(account, id, approve, reason)| Request::AdminBroadcastDecide {
                account,
                id,
                approve,
                reason,
            }
        ),
        vec(text(), 0..4).prop_map(|words| Request::AdminSetSensitiveWords { words }),
        (broadcast_draft(), option::of(text()))
            .prop_map(|(draft, otp)| Request::PreviewBroadcast { draft, otp }),
        (any::<u64>(), entry())
            .prop_map(|(broadcast, entry)| Request::ReplyToBroadcast { broadcast, entry }),
        Just(Request::GetCsatSettings),
        csat_settings().prop_map(Request::SetCsatSettings),
        (any::<u64>(), any::<u8>(), vec(any::<u8>(), 0..4), text()).prop_map(
            |(conversation, rating, reasons, text)| Request::RateConversation {
                conversation,
                rating,
                reasons,
                text,
            }
        ),
        (
            option::of(any::<i32>()),
            option::of(any::<i32>()),
            any::<bool>(),
            option::of(vec(any::<u8>(), 0..8))
        )
            .prop_map(|(from, to, detail, after)| Request::CsatReport(
                kefu_wire::csat::CsatQuery {
                    from,
                    to,
                    detail,
                    after
                }
            )),
        (option::of(any::<u64>()), any::<u32>(), option::of(text()))
            .prop_map(|(before, limit, otp)| Request::ListBroadcastPage { before, limit, otp }),
        (any::<u64>(), any::<u64>(), any::<u32>(), option::of(text())).prop_map(
            |(id, offset, limit, otp)| Request::GetBroadcastCustomers {
                id,
                offset,
                limit,
                otp
            }
        ),
        (option::of(review_cursor()), any::<u32>())
            .prop_map(|(after, limit)| Request::AdminBroadcastReviewQueue { after, limit }),
    ]
}

fn csat_style() -> impl Strategy<Value = kefu_wire::csat::CsatStyle> {
    use kefu_wire::csat::CsatStyle;
    prop_oneof![
        Just(CsatStyle::Words),
        Just(CsatStyle::Stars),
        Just(CsatStyle::Faces)
    ]
}

fn csat_settings() -> impl Strategy<Value = kefu_wire::csat::CsatSettings> {
    (
        any::<bool>(),
        csat_style(),
        any::<bool>(),
        vec(text(), 0..3),
        vec(text(), 0..3),
    )
        .prop_map(|(enabled, style, reasons_enabled, reasons, subscribers)| {
            kefu_wire::csat::CsatSettings {
                enabled,
                style,
                reasons_enabled,
                reasons,
                subscribers,
            }
        })
}

fn csat_page() -> impl Strategy<Value = kefu_wire::csat::CsatReportPage> {
    use kefu_wire::csat::{CsatAgentLine, CsatRating, CsatReportPage};
    let line = (any::<u32>(), any::<[u64; 5]>())
        .prop_map(|(agent, counts)| CsatAgentLine { agent, counts });
    let rating = (
        any::<i32>(),
        any::<i64>(),
        text(),
        any::<u32>(),
        any::<u64>(),
        any::<u8>(),
        vec(text(), 0..3),
        text(),
    )
        .prop_map(
            |(day, at, customer, agent, conversation, rating, reasons, text)| CsatRating {
                day,
                at,
                customer: CustomerId::Identified(customer),
                agent,
                conversation,
                rating,
                reasons,
                text,
            },
        );
    (
        any::<i32>(),
        any::<i32>(),
        vec(line, 0..3),
        vec(rating, 0..3),
        option::of(vec(any::<u8>(), 0..8)),
    )
        .prop_map(|(from, to, lines, detail, next)| CsatReportPage {
            from,
            to,
            lines,
            detail,
            next,
        })
}

fn menu_action() -> impl Strategy<Value = kefu_wire::menu::MenuAction> {
    use kefu_wire::menu::MenuAction;
    prop_oneof![
        text().prop_map(MenuAction::OpenUrl),
        text().prop_map(MenuAction::AutoReply),
        any::<u32>().prop_map(MenuAction::ToAgent),
        text().prop_map(MenuAction::ToGroup),
        Just(MenuAction::HumanService),
        any::<u16>().prop_map(MenuAction::SubMenu),
    ]
}

fn navigation_menu() -> impl Strategy<Value = kefu_wire::menu::NavigationMenu> {
    use kefu_wire::menu::{MenuNode, MenuOption, NavigationMenu};
    let option = (text(), menu_action()).prop_map(|(label, action)| MenuOption { label, action });
    let node =
        (text(), vec(option, 0..3)).prop_map(|(prompt, options)| MenuNode { prompt, options });
    (any::<bool>(), vec(node, 0..3)).prop_map(|(enabled, nodes)| NavigationMenu { enabled, nodes })
}

fn menu_prompt() -> impl Strategy<Value = kefu_wire::menu::MenuPrompt> {
    (any::<u64>(), any::<u16>(), text(), vec(text(), 0..3)).prop_map(
        |(conversation, node, prompt, options)| kefu_wire::menu::MenuPrompt {
            conversation,
            node,
            prompt,
            options,
        },
    )
}

fn file_peer() -> impl Strategy<Value = kefu_wire::files::FilePeer> {
    prop_oneof![
        any::<u64>().prop_map(kefu_wire::files::FilePeer::Conversation),
        any::<u32>().prop_map(kefu_wire::files::FilePeer::Agent),
    ]
}

fn file_meta() -> impl Strategy<Value = kefu_wire::files::FileMeta> {
    (text(), any::<u64>(), any::<[u8; 32]>(), any::<bool>()).prop_map(
        |(name, size, sha256, image)| kefu_wire::files::FileMeta {
            name,
            size,
            sha256,
            image,
        },
    )
}

fn menu_path() -> impl Strategy<Value = kefu_wire::menu::MenuPath> {
    (any::<u64>(), vec(text(), 0..3)).prop_map(|(conversation, labels)| kefu_wire::menu::MenuPath {
        conversation,
        labels,
    })
}

fn menu_step() -> impl Strategy<Value = kefu_wire::menu::MenuStep> {
    use kefu_wire::menu::MenuStep;
    prop_oneof![
        menu_prompt().prop_map(MenuStep::Prompt),
        text().prop_map(|url| MenuStep::OpenUrl { url }),
        text().prop_map(|text| MenuStep::AutoReply { text }),
        conversation_info().prop_map(MenuStep::Routed),
    ]
}

/// The navigation menu (section 25).
fn menu_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::GetNavigationMenu),
        navigation_menu().prop_map(|menu| Request::SetNavigationMenu { menu }),
        (any::<u64>(), any::<u16>(), any::<u8>()).prop_map(|(conversation, node, option)| {
            Request::ChooseMenuOption {
                conversation,
                node,
                option,
            }
        }),
        any::<u64>().prop_map(|conversation| Request::GetMenuPath { conversation }),
    ]
}

/// SMS forwarding (section 27).
fn sms_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u64>(), any::<u64>(), any::<u32>()).prop_map(|(conversation, message, agent)| {
            Request::ForwardSms {
                conversation,
                message,
                agent,
            }
        }),
        (any::<u64>(), any::<u32>())
            .prop_map(|(account, units)| Request::AdminSmsTopUp { account, units }),
        any::<u64>().prop_map(|account| Request::AdminSmsBalance { account }),
        any::<u64>().prop_map(|account| Request::AdminSmsDeadLetters { account }),
        (any::<u64>(), any::<u64>(), any::<u64>(), text()).prop_map(
            |(account, sms, reply_id, text)| Request::AdminSmsReply {
                account,
                sms,
                reply_id,
                text,
            }
        ),
    ]
}

fn sms_dead_letter() -> impl Strategy<Value = kefu_wire::sms::SmsDeadLetter> {
    (
        (
            any::<u64>(),
            any::<u64>(),
            customer_id(),
            any::<u32>(),
            text(),
        ),
        (
            text(),
            any::<u32>(),
            any::<u32>(),
            text(),
            any::<i64>(),
            any::<i64>(),
        ),
    )
        .prop_map(
            |(
                (sms, conversation, customer, agent, phone),
                (text, segments, attempts, last_error, queued_at, dead_at),
            )| kefu_wire::sms::SmsDeadLetter {
                sms,
                conversation,
                customer,
                agent,
                phone,
                text,
                segments,
                attempts,
                last_error,
                queued_at,
                dead_at,
            },
        )
}

fn broadcast_draft() -> impl Strategy<Value = kefu_wire::valueadded::BroadcastDraft> {
    (
        vec(any::<u32>(), 0..3),
        vec(customer_id(), 0..3),
        message_body(),
        any::<bool>(),
        any::<bool>(),
        option::of(any::<i64>()),
    )
        .prop_map(
            |(groups, customers, body, online_only, block_replies, send_at)| {
                kefu_wire::valueadded::BroadcastDraft {
                    groups,
                    customers,
                    body,
                    online_only,
                    block_replies,
                    send_at,
                }
            },
        )
}

fn broadcast_info() -> impl Strategy<Value = kefu_wire::valueadded::BroadcastInfo> {
    use kefu_wire::valueadded::BroadcastState as S;
    let state = prop_oneof![
        Just(S::PendingReview),
        Just(S::PendingSend),
        Just(S::Sending),
        Just(S::Done),
        Just(S::Failed),
        Just(S::Cancelled),
        Just(S::Rejected),
    ];
    (
        (any::<u64>(), any::<u32>(), broadcast_draft(), state),
        (any::<[u64; 3]>(), any::<i64>()),
        (option::of((any::<u32>(), any::<i64>())), option::of(text())),
    )
        .prop_map(
            |(
                (id, agent, draft, state),
                ([recipients, sent, reserved], submitted_at),
                (cancelled, reason),
            )| {
                kefu_wire::valueadded::BroadcastInfo {
                    id,
                    agent,
                    draft,
                    state,
                    recipients,
                    sent,
                    reserved,
                    submitted_at,
                    cancelled,
                    reason,
                }
            },
        )
}

fn offline_file() -> impl Strategy<Value = kefu_wire::files::OfflineFileInfo> {
    (
        any::<u64>(),
        party(),
        file_meta(),
        any::<i64>(),
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(file, from, meta, at, token)| kefu_wire::files::OfflineFileInfo {
                file,
                from,
                meta,
                at,
                token,
            },
        )
}

fn file_end() -> impl Strategy<Value = kefu_wire::files::FileEnd> {
    prop_oneof![
        Just(kefu_wire::files::FileEnd::Declined),
        Just(kefu_wire::files::FileEnd::Cancelled),
        Just(kefu_wire::files::FileEnd::PeerGone),
    ]
}

/// Files, online and offline (section 28).
fn files_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (file_peer(), file_meta()).prop_map(|(to, meta)| Request::FileOffer { to, meta }),
        (any::<u64>(), any::<bool>(), any::<u32>()).prop_map(|(transfer, accept, credit)| {
            Request::FileAnswer {
                transfer,
                accept,
                credit,
            }
        }),
        (any::<u64>(), any::<u32>())
            .prop_map(|(transfer, bytes)| Request::FileCredit { transfer, bytes }),
        (any::<u64>(), any::<u64>(), vec(any::<u8>(), 0..16)).prop_map(
            |(transfer, offset, data)| Request::FileChunk {
                transfer,
                offset,
                data
            }
        ),
        any::<u64>().prop_map(|transfer| Request::FileCancel { transfer }),
        (file_peer(), file_meta()).prop_map(|(to, meta)| Request::UploadFile { to, meta }),
        (any::<u64>(), any::<u64>(), vec(any::<u8>(), 0..16)).prop_map(|(upload, offset, data)| {
            Request::UploadChunk {
                upload,
                offset,
                data,
            }
        }),
        any::<u64>().prop_map(|upload| Request::FinishUpload { upload }),
        Just(Request::ListOfflineFiles),
        any::<[u8; 32]>().prop_map(|token| Request::FetchFile { token }),
        (any::<u64>(), any::<u64>(), any::<u32>())
            .prop_map(|(fetch, offset, max)| Request::FetchChunk { fetch, offset, max }),
    ]
}

fn resume_token() -> impl Strategy<Value = kefu_wire::ResumeToken> {
    (any::<u64>(), any::<[u8; 32]>())
        .prop_map(|(session, secret)| kefu_wire::ResumeToken { session, secret })
}

fn contact_info() -> impl Strategy<Value = ContactInfo> {
    let visit = (any::<i64>(), any::<i64>(), any::<u32>(), text(), text()).prop_map(
        |(first_at, last_at, visits, source, region)| Visit {
            first_at,
            last_at,
            visits,
            source,
            region,
        },
    );
    (
        (customer_id(), contact_state(), option::of(any::<u32>())),
        (text(), text(), text(), text(), text()),
        (vec((text(), text()), 0..3), ids(), ids(), option::of(visit)),
        (
            option::of(any::<(i64, u32)>()),
            option::of(any::<i64>()),
            any::<i64>(),
        ),
    )
        .prop_map(
            |(
                (customer, state, owner),
                (real_name, remark, nickname, phone, email),
                (fields, groups, tags, visit),
                (last_accepted, last_contact_at, created_at),
            )| ContactInfo {
                customer,
                state,
                owner,
                real_name,
                remark,
                nickname,
                phone,
                email,
                fields,
                groups,
                tags,
                visit,
                last_accepted,
                last_contact_at,
                created_at,
            },
        )
}

fn group_info() -> impl Strategy<Value = GroupInfo> {
    (any::<u32>(), text()).prop_map(|(id, name)| GroupInfo { id, name })
}

fn group_node() -> impl Strategy<Value = GroupNode> {
    prop_oneof![
        (any::<u32>(), text(), vec(group_info(), 0..3))
            .prop_map(|(id, name, groups)| GroupNode::Category { id, name, groups }),
        group_info().prop_map(GroupNode::Group),
    ]
}

fn import_report() -> impl Strategy<Value = ImportReport> {
    (
        any::<[u64; 4]>(),
        vec(
            (any::<u64>(), text()).prop_map(|(line, reason)| InvalidRow { line, reason }),
            0..3,
        ),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                [imported, skipped_existing, refused_plan, refused_daily],
                invalid,
                total,
                finished,
            )| {
                ImportReport {
                    imported,
                    skipped_existing,
                    refused_plan,
                    refused_daily,
                    invalid,
                    invalid_total: total,
                    finished,
                }
            },
        )
}

fn contact_notice() -> impl Strategy<Value = ContactNotice> {
    prop_oneof![
        customer_id().prop_map(|customer| ContactNotice::AddedUs { customer }),
        (customer_id(), any::<bool>())
            .prop_map(|(customer, accepted)| ContactNotice::Answered { customer, accepted }),
        (any::<u64>(), text())
            .prop_map(|(account, note)| ContactNotice::FriendRequest { account, note }),
    ]
}

fn session() -> impl Strategy<Value = SessionInfo> {
    (
        (any::<u64>(), any::<u32>(), text(), any::<u32>()),
        (any::<u16>(), any::<[u8; 16]>(), any::<i64>(), any::<i64>()),
    )
        .prop_map(
            |(
                (account, agent, nickname, role),
                (permissions, token, token_expires_at, account_expires_at),
            )| SessionInfo {
                account,
                agent,
                nickname,
                role,
                permissions,
                token,
                token_expires_at,
                account_expires_at,
            },
        )
}

fn account_info() -> impl Strategy<Value = AccountInfo> {
    (
        any::<u64>(),
        text(),
        plan(),
        any::<i64>(),
        any::<i64>(),
        any::<u32>(),
    )
        .prop_map(
            |(account, name, plan, expires_at, created_at, agents)| AccountInfo {
                account,
                name,
                plan,
                expires_at,
                created_at,
                agents,
            },
        )
}

fn agent_info() -> impl Strategy<Value = AgentInfo> {
    (
        any::<u32>(),
        text(),
        any::<u32>(),
        any::<bool>(),
        presence(),
    )
        .prop_map(
            |(agent, nickname, role, has_password, presence)| AgentInfo {
                agent,
                nickname,
                role,
                has_password,
                presence,
            },
        )
}

fn shard_stats() -> impl Strategy<Value = ShardStats> {
    (any::<u16>(), any::<[u64; 5]>()).prop_map(|(shard, [c, s, a, i, o])| ShardStats {
        shard,
        connections: c,
        sessions: s,
        accounts: a,
        frames_in: i,
        frames_out: o,
    })
}

fn role_info() -> impl Strategy<Value = RoleInfo> {
    (any::<u32>(), text(), any::<u16>(), any::<u32>()).prop_map(
        |(role, name, permissions, agents)| RoleInfo {
            role,
            name,
            permissions,
            agents,
        },
    )
}

/// Every `Response` variant.
fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        Just(Response::Ok),
        session().prop_map(Response::LoggedIn),
        session().prop_map(Response::Session),
        vec(agent_info(), 0..4).prop_map(Response::Agents),
        vec(account_info(), 0..4).prop_map(Response::Accounts),
        account_info().prop_map(Response::Account),
        (any::<u64>(), vec(shard_stats(), 0..4))
            .prop_map(|(uptime_s, shards)| Response::Stats { uptime_s, shards }),
        vec(role_info(), 0..4).prop_map(Response::Roles),
        role_info().prop_map(Response::Role),
        profile().prop_map(Response::Profile),
        (security_level(), option::of(text())).prop_map(|(level, token_serial)| {
            Response::Security(SecurityInfo {
                level,
                token_serial,
            })
        }),
        vec(text(), 0..4).prop_map(|serials| Response::TokensImported { serials }),
        customer_session().prop_map(Response::CustomerLoggedIn),
        conversation_info().prop_map(Response::Conversation),
        vec(conversation_info(), 0..4).prop_map(Response::Conversations),
        (any::<u64>(), any::<bool>())
            .prop_map(|(message, duplicate)| Response::Sent { message, duplicate }),
        (conversation_info(), vec(message_info(), 0..4)).prop_map(|(conversation, history)| {
            Response::Accepted {
                conversation,
                history,
            }
        }),
        any::<[u8; 32]>().prop_map(Response::CustomerKey),
        vec(message_info(), 0..4).prop_map(Response::Messages),
        routing_config().prop_map(Response::RoutingSettings),
        contact_info().prop_map(|c| Response::Contact(Box::new(c))),
        (any::<u64>(), vec(contact_info(), 0..3))
            .prop_map(|(total, contacts)| Response::Contacts(ContactPage { total, contacts })),
        any::<u64>().prop_map(|count| Response::Deleted { count }),
        vec(any::<bool>(), 0..4).prop_map(Response::Online),
        vec(
            (any::<u32>(), text(), any::<u32>()).prop_map(|(id, name, colour)| TagInfo {
                id,
                name,
                colour
            }),
            0..4
        )
        .prop_map(Response::Tags),
        vec(group_node(), 0..3).prop_map(Response::Groups),
        import_report().prop_map(Response::Import),
        (vec(any::<u8>(), 0..40), option::of(any::<u64>()))
            .prop_map(|(csv, next_after)| Response::Export { csv, next_after }),
        (vec(message_info(), 0..3), option::of(any::<u64>())).prop_map(
            |(messages, next_before)| Response::History(HistoryPage {
                messages,
                next_before
            })
        ),
        contact_settings().prop_map(Response::ContactSettings),
        (vec(quick_reply(), 0..3), vec(quick_reply(), 0..3))
            .prop_map(|(personal, shared)| Response::QuickReplies { personal, shared }),
        vec(
            (any::<u32>(), any::<[u64; 3]>()).prop_map(|(agent, [c, s, r])| AgentFigures {
                agent,
                conversations: c,
                messages_sent: s,
                messages_received: r,
            }),
            0..4
        )
        .prop_map(Response::Analytics),
        (vec(any::<u8>(), 0..60), any::<i64>())
            .prop_map(|(ticket, expires_at)| Response::Ticket { ticket, expires_at }),
        any::<u64>().prop_map(|recipients| Response::BroadcastSent { recipients }),
        (presence(), option::of(account_presence_mode()))
            .prop_map(|(presence, mode)| Response::AccountPresence { presence, mode }),
        (any::<i64>(), any::<bool>())
            .prop_map(|(unix_ms, test_mode)| Response::Clock { unix_ms, test_mode }),
        (resume_token(), any::<u32>())
            .prop_map(|(token, window_secs)| Response::ResumeEnabled { token, window_secs }),
        any::<u64>().prop_map(|replayed| Response::Resumed { replayed }),
        ".{0,200}".prop_map(|text| Response::Metrics { text }),
        (
            ".{0,40}",
            any::<bool>(),
            ".{0,40}",
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<bool>()
        )
            .prop_map(|(data_dir, writable, error, us, free, total, full)| {
                Response::StorageCheck(kefu_wire::StorageCheck {
                    data_dir,
                    writable,
                    error,
                    synced_write_us: us,
                    free_bytes: free,
                    total_bytes: total,
                    disk_full: full,
                })
            }),
        (any::<u32>(), any::<u32>()).prop_map(|(sessions_closed, tokens_removed)| {
            Response::AccountDeleted {
                sessions_closed,
                tokens_removed,
            }
        }),
        designated().prop_map(Response::DesignatedAgent),
        (
            vec((any::<u32>(), text(), presence()), 0..4),
            vec((text(), any::<bool>()), 0..4),
            option::of(any::<u32>()),
        )
            .prop_map(|(agents, groups, previous)| {
                Response::Choices(kefu_wire::chat::ChoiceList {
                    agents: agents
                        .into_iter()
                        .map(|(agent, name, presence)| kefu_wire::chat::AgentChoice {
                            agent,
                            name,
                            presence,
                        })
                        .collect(),
                    groups: groups
                        .into_iter()
                        .map(|(name, online)| kefu_wire::chat::GroupChoice { name, online })
                        .collect(),
                    previous,
                })
            }),
        backup_info().prop_map(Response::Backup),
        vec(backup_info(), 0..4).prop_map(Response::Backups),
        vec((text(), vec(agent_info(), 0..3)), 0..3).prop_map(|groups| {
            Response::AgentGroups(
                groups
                    .into_iter()
                    .map(|(name, agents)| kefu_wire::AgentGroup { name, agents })
                    .collect(),
            )
        }),
        option::of((any::<u32>(), text())).prop_map(|shown| {
            Response::ServingAgent(
                shown.map(|(agent, shown_as)| kefu_wire::ShownAgent { agent, shown_as }),
            )
        }),
        agent_prefs().prop_map(Response::AgentPrefs),
        reminder_settings().prop_map(Response::ReminderSettings),
        (option::of(any::<u32>()), option::of(any::<u32>())).prop_map(
            |(owner, exclusive_owner)| Response::ContactOwners {
                owner,
                exclusive_owner,
            }
        ),
        idle_settings().prop_map(Response::IdleSettings),
        vec(idle_info(), 0..4).prop_map(Response::IdleConversations),
        vec(internal_message(), 0..4).prop_map(Response::InternalMessages),
        navigation_menu().prop_map(Response::NavigationMenu),
        menu_step().prop_map(Response::MenuStep),
        menu_path().prop_map(Response::MenuPath),
        spam_level().prop_map(Response::SpamFilter),
        vec(customer_id(), 0..4).prop_map(Response::Muted),
        (any::<u64>(), any::<u32>(), any::<bool>()).prop_map(|(sms, segments, duplicate)| {
            Response::SmsQueued {
                sms,
                segments,
                duplicate,
            }
        }),
        any::<[u64; 5]>().prop_map(|[units, reserved, spent, refunded, failed_attempts]| {
            Response::SmsBalance(kefu_wire::sms::SmsBalance {
                units,
                reserved,
                spent,
                refunded,
                failed_attempts,
            })
        }),
        vec(sms_dead_letter(), 0..3).prop_map(Response::SmsDeadLetters),
        any::<u64>().prop_map(|transfer| Response::FileTransfer { transfer }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(upload, offset)| Response::Upload { upload, offset }),
        any::<u64>().prop_map(|file| Response::OfflineFileStored { file }),
        vec(offline_file(), 0..3).prop_map(Response::OfflineFiles),
        (any::<u64>(), offline_file()).prop_map(|(fetch, file)| Response::Fetch { fetch, file }),
        (any::<u64>(), vec(any::<u8>(), 0..16))
            .prop_map(|(offset, data)| Response::FileData { offset, data }),
        any::<[u64; 6]>().prop_map(
            |[available, reserved, topped_up, settled, refunded, points]| {
                Response::Balance(kefu_wire::valueadded::BalanceInfo {
                    available,
                    reserved,
                    topped_up,
                    settled,
                    refunded,
                    points,
                })
            }
        ),
        broadcast_info().prop_map(|b| Response::Broadcast(Box::new(b))),
        vec(broadcast_info(), 0..3).prop_map(Response::Broadcasts),
        web_response(),
        profile_response(),
        (
            text(),
            vec(account_entry(), 0..3),
            option::of(account_cursor())
        )
            .prop_map(|(pair, entries, next)| Response::AccountExport(
                kefu_wire::account_move::AccountExport {
                    pair,
                    entries,
                    next
                }
            )),
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            vec(account_change(), 0..3)
        )
            .prop_map(|(after, upto, latest, changes)| Response::AccountChanges(
                kefu_wire::account_move::AccountChanges {
                    after,
                    upto,
                    latest,
                    changes
                }
            )),
        vec(
            (date(), any::<u32>(), any::<u64>(), any::<u64>()).prop_map(
                |(date, agent, conversations, customers)| kefu_wire::reports::WorkReportRow {
                    date,
                    agent,
                    conversations,
                    customers,
                }
            ),
            0..3
        )
        .prop_map(Response::WorkReport),
        survey_info().prop_map(|s| Response::Survey(Box::new(s))),
        vec(survey_info(), 0..3).prop_map(Response::Surveys),
        (
            survey_info(),
            vec(vec(any::<u64>(), 0..3), 0..3),
            vec(vec(any::<u32>(), 0..3), 0..3)
        )
            .prop_map(|(survey, counts, ratios)| Response::SurveyResult(Box::new(
                kefu_wire::survey::SurveyResult {
                    survey,
                    counts,
                    ratios,
                }
            ))),
        vec(
            (any::<u64>(), text(), text(), vec(survey_question(), 0..3)).prop_map(
                |(id, title, background, questions)| kefu_wire::survey::SurveyForm {
                    id,
                    title,
                    background,
                    questions,
                }
            ),
            0..3
        )
        .prop_map(Response::SurveyForms),
        (
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            vec(any::<u8>(), 0..8),
            any::<bool>()
        )
            .prop_map(
                |(export, index, total, size, data, last)| Response::ExportData(
                    kefu_wire::reports::ExportChunk {
                        export,
                        index,
                        total,
                        size,
                        data,
                        last,
                    }
                )
            ),
        csat_settings().prop_map(Response::CsatSettings),
        csat_page().prop_map(Response::CsatReport),
        (vec(text(), 0..4), vec(text(), 0..4)).prop_map(|(explicit, from_codes)| {
            Response::AllowedOrigins(kefu_wire::web::AllowedOrigins {
                explicit,
                from_codes,
            })
        }),
        (vec(broadcast_summary(), 0..3), option::of(any::<u64>())).prop_map(|(items, next)| {
            Response::BroadcastPage(kefu_wire::valueadded::BroadcastPage { items, next })
        }),
        (
            any::<u64>(),
            vec(customer_id(), 0..3),
            option::of(any::<u64>())
        )
            .prop_map(|(total, customers, next)| Response::BroadcastCustomers(
                kefu_wire::valueadded::BroadcastCustomers {
                    total,
                    customers,
                    next
                }
            )),
        (
            vec(
                (any::<u64>(), broadcast_summary()).prop_map(|(account, summary)| {
                    kefu_wire::valueadded::BroadcastReview { account, summary }
                }),
                0..3
            ),
            option::of(review_cursor())
        )
            .prop_map(|(items, next)| Response::BroadcastReviews(
                kefu_wire::valueadded::ReviewPage { items, next }
            )),
    ]
}

fn review_cursor() -> impl Strategy<Value = kefu_wire::valueadded::ReviewCursor> {
    (any::<i64>(), any::<u64>(), any::<u64>()).prop_map(|(submitted_at, account, id)| {
        kefu_wire::valueadded::ReviewCursor {
            submitted_at,
            account,
            id,
        }
    })
}

/// A summary built from a random `BroadcastInfo` (its draft's contacts counted).
fn broadcast_summary() -> impl Strategy<Value = kefu_wire::valueadded::BroadcastSummary> {
    (broadcast_info(), any::<u64>()).prop_map(|(b, named)| {
        kefu_wire::valueadded::BroadcastSummary {
            id: b.id,
            agent: b.agent,
            state: b.state,
            body: b.draft.body,
            groups: b.draft.groups,
            named,
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
    })
}

fn push() -> impl Strategy<Value = Push> {
    let event = prop_oneof![
        (any::<u32>(), presence())
            .prop_map(|(agent, presence)| Event::PresenceChanged { agent, presence }),
        text().prop_map(|text| Event::Notice { text }),
        vec((any::<u32>(), presence()), 0..4).prop_map(|changes| {
            Event::PresenceChanges(
                changes
                    .into_iter()
                    .map(|(agent, presence)| PresenceChange { agent, presence })
                    .collect(),
            )
        }),
        message_info().prop_map(Event::Message),
        conversation_info().prop_map(Event::ConversationChanged),
        (any::<u64>(), any::<i64>()).prop_map(|(conversation, offer_at)| {
            Event::ConversationAlert {
                conversation,
                alert: kefu_wire::chat::Alert::NoResponseWarning { offer_at },
            }
        }),
        (any::<u64>(), any::<u32>(), text()).prop_map(|(conversation, agent, name)| {
            Event::ConversationAlert {
                conversation,
                alert: kefu_wire::chat::Alert::ServedBy { agent, name },
            }
        }),
        (any::<u64>(), any::<u32>(), any::<i64>()).prop_map(|(conversation, to, deadline)| {
            Event::ConversationAlert {
                conversation,
                alert: kefu_wire::chat::Alert::TransferWaiting { to, deadline },
            }
        }),
        (any::<u64>(), vec((any::<u32>(), text()), 0..3)).prop_map(|(conversation, phones)| {
            Event::ConversationAlert {
                conversation,
                alert: kefu_wire::chat::Alert::NobodyOnline {
                    phones: phones
                        .into_iter()
                        .map(|(agent, shown_as)| kefu_wire::ShownAgent { agent, shown_as })
                        .collect(),
                },
            }
        }),
        contact_notice().prop_map(Event::ContactNotice),
        (any::<u64>(), party(), signal()).prop_map(|(conversation, from, signal)| {
            Event::Signal {
                conversation,
                from,
                signal,
            }
        }),
        presence().prop_map(|presence| Event::AccountPresenceChanged { presence }),
        idle_info().prop_map(Event::IdleChanged),
        internal_message().prop_map(Event::InternalMessage),
        menu_prompt().prop_map(Event::MenuShown),
        menu_path().prop_map(Event::MenuPath),
        message_info().prop_map(Event::QuietMessage),
        (any::<u64>(), party(), option::of(any::<u64>()), file_meta()).prop_map(
            |(transfer, from, conversation, meta)| Event::FileOffered {
                transfer,
                from,
                conversation,
                meta,
            }
        ),
        (any::<u64>(), any::<u64>()).prop_map(|(transfer, window_end)| Event::FileCredit {
            transfer,
            window_end
        }),
        (any::<u64>(), any::<u64>(), vec(any::<u8>(), 0..16)).prop_map(
            |(transfer, offset, data)| Event::FileChunk {
                transfer,
                offset,
                data
            }
        ),
        (any::<u64>(), file_end())
            .prop_map(|(transfer, reason)| Event::FileEnded { transfer, reason }),
        offline_file().prop_map(Event::OfflineFile),
        (any::<u64>(), any::<u64>(), any::<bool>()).prop_map(
            |(broadcast, message, replies_blocked)| Event::FromBroadcast {
                broadcast,
                message,
                replies_blocked,
            }
        ),
        (any::<u32>(), message_body())
            .prop_map(|(from, body)| Event::BroadcastPreview { from, body }),
        (any::<u64>(), any::<u32>(), text(), any::<bool>()).prop_map(
            |(invitation, agent, text, automatic)| Event::Invitation(kefu_wire::web::Invitation {
                invitation,
                agent,
                text,
                automatic,
            })
        ),
        site_visitor().prop_map(Event::VisitorArrived),
        (
            any::<u64>(),
            csat_style(),
            vec(text(), 0..5),
            vec(text(), 0..3)
        )
            .prop_map(|(conversation, style, labels, reasons)| Event::CsatSurvey(
                kefu_wire::csat::CsatSurvey {
                    conversation,
                    style,
                    labels,
                    reasons
                }
            )),
        (any::<u64>(), survey_form())
            .prop_map(|(broadcast, form)| Event::SurveyBroadcast { broadcast, form }),
    ];
    (any::<u64>(), event).prop_map(|(seq, event)| Push { seq, event })
}

/// A frame a server may send: kind, correlation, encoded body.
#[derive(Debug, Clone)]
struct Out {
    kind: FrameKind,
    correlation: u32,
    body: Vec<u8>,
}

fn out<T: Body>(value: &T, correlation: u32) -> Out {
    Out {
        kind: T::KIND,
        correlation,
        body: value.encode(),
    }
}

fn server_frame() -> impl Strategy<Value = Out> {
    prop_oneof![
        (any::<u16>(), text(), any::<[u32; 3]>()).prop_map(|(version, server, [m, h, i])| {
            let w = Welcome {
                version,
                server,
                max_frame: m,
                heartbeat_ms: h,
                idle_timeout_ms: i,
            };
            out(&w, 0)
        }),
        (response(), 1u32..).prop_map(|(r, c)| out(&r, c)),
        (code(), text(), any::<u32>())
            .prop_map(|(code, message, c)| out(&ErrorBody { code, message }, c)),
        push().prop_map(|p| out(&p, 0)),
        any::<u64>().prop_map(|nonce| out(&Ping { nonce }, 0)),
        any::<u64>().prop_map(|nonce| out(&Pong { nonce }, 0)),
        (code(), text()).prop_map(|(code, message)| out(&GoAway { code, message }, 0)),
        (code(), text(), text()).prop_map(|(code, message, address)| out(
            &GoAwayTo {
                code,
                message,
                address
            },
            0
        )),
    ]
}

fn encode_all(frames: &[Out]) -> BytesMut {
    let mut buf = BytesMut::new();
    for f in frames {
        put_frame(&mut buf, f.kind, f.correlation, &f.body);
    }
    buf
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Takes every whole frame out of `buf`, stopping at the first error.
fn drain(decoder: &FrameDecoder, buf: &mut BytesMut) -> Result<Vec<Frame>, WireError> {
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(buf)? {
        frames.push(frame);
    }
    Ok(frames)
}

/// What every error handed to a caller must satisfy: it maps to a code this build knows
/// (so it can be sent to the peer) and it prints.
fn assert_reportable(e: &WireError) {
    assert!(
        ErrorCode::ALL.contains(&e.code()),
        "{e:?} maps to unknown {}",
        e.code()
    );
    assert!(!e.to_string().is_empty());
}

/// Decodes `bytes` as every body type; returns how many decoded.
fn decode_as_every_body(bytes: &[u8]) -> usize {
    fn one<T: Body + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> usize {
        match T::decode(bytes) {
            Ok(value) => {
                // Whatever decodes must survive our own encoder unchanged (the bytes may
                // differ: postcard accepts over-long varints).
                assert_eq!(T::decode(&value.encode()).as_ref(), Ok(&value));
                1
            }
            Err(e) => {
                assert_reportable(&e);
                match bytes.first() {
                    None => assert_eq!(e, WireError::EmptyBody(T::KIND as u16)),
                    Some(&v) if v != T::VERSION => assert_eq!(
                        e,
                        WireError::UnknownBodyVersion {
                            kind: T::KIND as u16,
                            version: v
                        }
                    ),
                    Some(_) => assert!(matches!(
                        e,
                        WireError::BadBody { .. } | WireError::TrailingBytes { .. }
                    )),
                }
                0
            }
        }
    }
    one::<Hello>(bytes)
        + one::<Welcome>(bytes)
        + one::<Request>(bytes)
        + one::<Response>(bytes)
        + one::<ErrorBody>(bytes)
        + one::<Push>(bytes)
        + one::<PushAck>(bytes)
        + one::<Ping>(bytes)
        + one::<Pong>(bytes)
        + one::<GoAway>(bytes)
        + one::<kefu_wire::replica::ReplicaHello>(bytes)
        + one::<kefu_wire::replica::ReplicaBatches>(bytes)
        + one::<kefu_wire::replica::ReplicaApplied>(bytes)
        + one::<GoAwayTo>(bytes)
}

/// Cuts `len` bytes at the given (unsorted, possibly repeated) points.
fn pieces(bytes: &[u8], cuts: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// (a) The frame decoder never panics; it only ever fails on the header.
    #[test]
    fn frame_decoder_survives_hostile_input(
        input in hostile_input(),
        max in prop_oneof![Just(DEFAULT_MAX_FRAME), 0u32..64, any::<u32>()],
    ) {
        let decoder = FrameDecoder::new(max);
        prop_assert!(decoder.max_body() <= MAX_FRAME_CEILING);
        let mut buf = BytesMut::from(&input[..]);
        match drain(&decoder, &mut buf) {
            Ok(frames) => {
                // What is left is an incomplete frame.
                let used: usize = frames.iter().map(|f| HEADER_LEN + f.body.len()).sum();
                prop_assert_eq!(used + buf.len(), input.len());
            }
            Err(e) => {
                assert_reportable(&e);
                prop_assert!(
                    matches!(e, WireError::FrameTooLarge { .. } | WireError::UnknownKind(_)),
                    "the frame decoder does not look into bodies: {:?}", e
                );
            }
        }
    }

    /// (a) The client connection never panics, whether input arrives at once or in pieces.
    #[test]
    fn client_connection_survives_hostile_input(
        input in hostile_input(),
        cuts in vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let mut conn = ClientConnection::new("proptest", DEFAULT_MAX_FRAME);
        for piece in pieces(&input, &cuts) {
            match conn.handle_input(&piece) {
                Ok(()) => {}
                Err(e) => {
                    assert_reportable(&e);
                    break;
                }
            }
            while conn.poll_event().is_some() {}
        }
        // Whatever happened, the connection still answers its public API.
        let _ = conn.send_request(&Request::WhoAmI);
        prop_assert!(!conn.transmit().is_empty());
    }

    /// (b) Random bytes decoded as each body type never panic.
    #[test]
    fn body_decoders_survive_random_bytes(bytes in raw_bytes()) {
        decode_as_every_body(&bytes);
    }

    /// (b) The same with the right version byte, so postcard sees the random part.
    #[test]
    fn body_decoders_survive_random_versioned_bytes(rest in raw_bytes()) {
        let bytes: Vec<u8> = std::iter::once(1u8).chain(rest).collect();
        decode_as_every_body(&bytes);
    }

    /// (b) Valid bodies with one byte changed, cut short or extended never panic.
    #[test]
    fn body_decoders_survive_mutated_bodies(
        frame in server_frame(),
        request in request(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        op in 0u8..3,
    ) {
        for mut body in [frame.body, request.encode()] {
            let i = at.index(body.len());
            match op {
                0 => body[i] = byte,
                1 => body.truncate(i),
                _ => body.push(byte),
            }
            decode_as_every_body(&body);
        }
    }

    /// Every valid message survives encode → decode unchanged.
    #[test]
    fn messages_round_trip(request in request(), response in response(), push in push()) {
        prop_assert_eq!(Request::decode(&request.encode()), Ok(request));
        prop_assert_eq!(Response::decode(&response.encode()), Ok(response));
        prop_assert_eq!(Push::decode(&push.encode()), Ok(push));
    }

    /// (c) Arbitrary split points of a valid multi-frame stream give the same frames.
    #[test]
    fn frames_do_not_depend_on_read_boundaries(
        frames in vec(
            (prop::sample::select(FrameKind::ALL.to_vec()), any::<u32>(), vec(any::<u8>(), 0..40)),
            1..8,
        ),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = BytesMut::new();
        for (kind, corr, body) in &frames {
            put_frame(&mut stream, *kind, *corr, body);
        }
        let decoder = FrameDecoder::new(64);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in pieces(&stream, &cuts) {
            buf.extend_from_slice(&piece);
            got.extend(drain(&decoder, &mut buf).map_err(|e| TestCaseError::fail(e.to_string()))?);
        }
        prop_assert!(buf.is_empty());
        let got: Vec<(FrameKind, u32, Vec<u8>)> =
            got.into_iter().map(|f| (f.kind, f.correlation, f.body.to_vec())).collect();
        prop_assert_eq!(got, frames);
    }

    /// (c) The same through the client connection: the events do not depend on the cuts.
    #[test]
    fn client_events_do_not_depend_on_read_boundaries(
        frames in vec(server_frame(), 1..8),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let stream = encode_all(&frames);
        let run = |parts: Vec<Vec<u8>>| {
            let mut conn = ClientConnection::new("proptest", DEFAULT_MAX_FRAME);
            for part in parts {
                conn.handle_input(&part).map_err(|e| e.to_string())?;
            }
            let mut events = Vec::new();
            while let Some(ev) = conn.poll_event() {
                events.push(ev);
            }
            Ok::<_, String>((events, conn.transmit().to_vec()))
        };
        let whole = run(vec![stream.to_vec()]);
        prop_assert!(whole.is_ok(), "a valid stream failed: {:?}", whole);
        prop_assert_eq!(run(pieces(&stream, &cuts)), whole);
    }

    /// (d) A header declaring more than the maximum is refused from the header alone,
    /// before any of the body has arrived and without growing the buffer.
    #[test]
    fn oversized_header_refused_before_the_body(
        max in prop_oneof![
            Just(DEFAULT_MAX_FRAME),
            Just(MAX_FRAME_CEILING),
            0u32..=MAX_FRAME_CEILING,
        ],
        over in 1u32..,
        kind in any::<u16>(),
        flags in any::<u16>(),
        corr in any::<u32>(),
        early in vec(any::<u8>(), 0..32),
    ) {
        // `max` is at most the ceiling, so this is always above it.
        let len = max.saturating_add(over);
        let mut input = Vec::new();
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(&kind.to_be_bytes());
        input.extend_from_slice(&flags.to_be_bytes());
        input.extend_from_slice(&corr.to_be_bytes());
        input.extend_from_slice(&early);

        let decoder = FrameDecoder::new(max);
        let mut buf = BytesMut::from(&input[..]);
        let capacity = buf.capacity();
        prop_assert_eq!(decoder.decode(&mut buf), Err(WireError::FrameTooLarge { len, max }));
        prop_assert_eq!(buf.capacity(), capacity, "nothing reserved for the refused body");
        prop_assert_eq!(buf.len(), input.len(), "nothing consumed");

        let mut conn = ClientConnection::new("proptest", max);
        prop_assert_eq!(
            conn.handle_input(&input),
            Err(WireError::FrameTooLarge { len, max })
        );
        prop_assert_eq!(WireError::FrameTooLarge { len, max }.code(), ErrorCode::FRAME_TOO_LARGE);
    }
}

/// The variant index of an enum body on the wire: the varint after the version byte.
fn wire_index<T: Body>(value: &T) -> u32 {
    let body = value.encode();
    let mut out = 0u32;
    for (i, b) in body.iter().skip(1).take(5).enumerate() {
        out |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
    }
    out
}

/// The strategies draw every variant of `Request`, `Response` and `Event`. The matches
/// are exhaustive on purpose: an appended variant stops this file compiling until it has
/// a strategy above and an arm here.
#[test]
fn every_variant_is_generated() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeSet;

    const REQUESTS: u32 = 202;
    const RESPONSES: u32 = 97;
    const EVENTS: u32 = 25;

    let mut runner = TestRunner::deterministic();
    let (mut requests, mut responses, mut events) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for _ in 0..12_000 {
        let r = request()
            .new_tree(&mut runner)
            .expect("request strategy")
            .current();
        assert_eq!(request_index(&r), wire_index(&r), "{}", r.name());
        requests.insert(request_index(&r));
        let r = response()
            .new_tree(&mut runner)
            .expect("response strategy")
            .current();
        assert_eq!(response_index(&r), wire_index(&r), "{r:?}");
        responses.insert(response_index(&r));
        let p = push()
            .new_tree(&mut runner)
            .expect("push strategy")
            .current();
        events.insert(event_index(&p.event));
    }
    assert_eq!(requests, (0..REQUESTS).collect(), "Request variants drawn");
    assert_eq!(
        responses,
        (0..RESPONSES).collect(),
        "Response variants drawn"
    );
    assert_eq!(events, (0..EVENTS).collect(), "Event variants drawn");
}

#[test]
fn configured_maximum_is_capped_at_the_ceiling() {
    for max in [MAX_FRAME_CEILING, MAX_FRAME_CEILING + 1, u32::MAX] {
        assert_eq!(FrameDecoder::new(max).max_body(), MAX_FRAME_CEILING);
    }
    let mut header = BytesMut::new();
    put_frame(&mut header, FrameKind::Request, 1, &[]);
    header[..4].copy_from_slice(&(MAX_FRAME_CEILING + 1).to_be_bytes());
    assert_eq!(
        FrameDecoder::new(u32::MAX).decode(&mut header),
        Err(WireError::FrameTooLarge {
            len: MAX_FRAME_CEILING + 1,
            max: MAX_FRAME_CEILING
        })
    );
}

/// A survey as a customer is shown it.
fn survey_form() -> impl Strategy<Value = kefu_wire::survey::SurveyForm> {
    (any::<u64>(), text(), text(), vec(survey_question(), 0..3)).prop_map(
        |(id, title, background, questions)| kefu_wire::survey::SurveyForm {
            id,
            title,
            background,
            questions,
        },
    )
}
