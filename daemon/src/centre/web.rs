//! The web channel's engine (W1, W3, W4, S4, S5; manual §10.2, §10.7, §4.6, §4.8, §4.9,
//! §7.20; `wire/PROTOCOL.md` sections 31–33): entry-point codes, visitors on the site and
//! their trails, manual and automatic invitations, and the per-day visit figures.
//!
//! - **Codes** live in the account (read from the `web` column family on first use,
//!   `WebAccount`); `OpenConversationByCode` reads the code's routing when the
//!   conversation opens, so an edit changes every page at once (nothing is cached by
//!   the page: the snippet only names the code).
//! - **Visitors on the site** are the customer sessions of this shard that sent a
//!   `PageView` (`WebShard::on_site`, memory only, like sessions). Each page view is
//!   stored in the turn's batch (`PageRecord`), closes the previous page's dwell, and
//!   prunes the visitor's trail past [`MAX_TRAIL_PAGES`] with one range delete; pages
//!   older than [`TRAIL_RETENTION_DAYS`] are dropped (and deleted) when the trail is read.
//! - **Invitations**: an agent's goes to a visitor on the site and, accepted, opens a
//!   conversation routed to that agent (§4.6.1); the automatic one (§4.6.2) is armed in
//!   the shard's timer wheel at the session's first page view, `after_secs` later on
//!   the turn's clock, sent once per session, and never to a visitor who accepted one
//!   (stored, `VisitorRecord::accepted`), nor while it is in a conversation.
//! - **Figures** (S4/S5) are counters of the day (`DayStatsRecord`, UTC days) updated in
//!   the batch of the page view or conversation they count; a visitor is counted unique
//!   once a day by a marker key written in the same batch. A report reads one record
//!   per day of its range (at most [`MAX_REPORT_DAYS`]); nothing scans history.
//!
//! - **Regions** (S5): a visit (a session's first page view) counts under the region of
//!   the connection's peer address (`Caller::peer`, set by the loop for TCP, TLS and
//!   web connections alike) in the address-to-region table (`[web] regions_file`,
//!   `crate::regions`), in the same `DayStatsRecord` and batch as the day's other
//!   counters (its `regions` list, stored since version 1 of the record and empty in
//!   data written before); an address no line covers counts as `未知`.

use super::dispatch::{WebAgentRequest, WebCustomerRequest};
use super::{err, storage, Answer, Centre, Recipient};
use crate::session::{Caller, CustomerLogin, SessionId};
use crate::store::web_records::{
    self as rec, DayStatsRecord, EntryCodeRecord, PageRecord, VisitorRecord, WebSettingsRecord,
};
use crate::store::{Cf, StoredRecord};
use kefu_wire::chat::{CustomerId, Entry};
use kefu_wire::web::{
    search_keywords, url_domain, AutoInviteSettings, CodeError, EntryCode, EntryCodeDraft,
    Invitation, NamedCount, PageView, PageVisit, PublicEntryCode, SiteAnalytics, SiteVisitor,
    VisitDay, VisitorTrail, MAX_AUTO_INVITE_SECS, MAX_ENTRY_CODES, MAX_INVITATION_CHARS,
    MAX_LISTED_VISITORS, MAX_REFERRER_DOMAINS, MAX_REPORT_DAYS, MAX_TRAIL_PAGES,
    TRAIL_RETENTION_DAYS,
};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::{BTreeMap, HashMap, HashSet};

/// One day, ms.
const DAY_MS: i64 = 86_400_000;
/// Invitations waiting for an answer per shard; past it the oldest are forgotten.
const MAX_PENDING_INVITATIONS: usize = 100_000;

/// The UTC day of a unix-ms instant.
pub(crate) fn day_of(ms: i64) -> u32 {
    u32::try_from(ms.div_euclid(DAY_MS)).unwrap_or(0)
}

/// One account's web state, read on first use.
#[derive(Debug, Default)]
pub(crate) struct WebAccount {
    settings: WebSettingsRecord,
    pub(super) codes: BTreeMap<u32, EntryCode>,
    /// The explicit allowed origins (`web_origins.rs`), read on first use.
    pub(super) origins: Option<Vec<String>>,
    /// Today's figures and the visitors already counted today.
    today: Option<(u32, DayStatsRecord, HashSet<CustomerId>)>,
}

/// A visitor on the site (a customer session that sent a page view).
#[derive(Debug)]
struct OnSite {
    session: SessionId,
    arrived_at: i64,
    url: String,
    title: String,
    keywords: Option<String>,
    pages: u32,
    /// Its stored trail bounds and invitation flag.
    record: VisitorRecord,
    /// The page it is on (its number), until it leaves it.
    open_page: Option<(u64, PageRecord)>,
    auto_sent: bool,
}

/// An invitation waiting for its answer.
#[derive(Debug, Clone)]
struct Pending {
    account: u64,
    session: SessionId,
    agent: u32,
}

/// The shard's visitors on the site, invitations and automatic-invitation timers.
pub(crate) struct WebShard {
    on_site: HashMap<u64, HashMap<CustomerId, OnSite>>,
    pending: BTreeMap<u64, Pending>,
    next_invitation: u64,
    wheel: crate::timer_wheel::TimerWheel<(u64, SessionId)>,
}

impl WebShard {
    pub(crate) fn new(now_ms: i64) -> WebShard {
        WebShard {
            on_site: HashMap::new(),
            pending: BTreeMap::new(),
            next_invitation: 0,
            wheel: crate::timer_wheel::TimerWheel::new(
                super::idle::WHEEL_SLOTS,
                super::idle::WHEEL_TICK_MS,
                now_ms,
            ),
        }
    }

    /// When the next automatic invitation can be due (turn ms), for the loop's wake
    /// (`wake.rs`).
    pub(crate) fn next_deadline(&self) -> Option<i64> {
        self.wheel.next_deadline()
    }
}

fn code_error(e: CodeError) -> ErrorBody {
    match e {
        CodeError::SiteUrl => err(ErrorCode::BAD_SITE_URL, e.to_string()),
        CodeError::Field(_) => err(ErrorCode::INVALID_ARGUMENT, e.to_string()),
    }
}

fn unknown_code(id: u32) -> ErrorBody {
    err(
        ErrorCode::UNKNOWN_ENTRY_CODE,
        format!("no entry-point code {id}"),
    )
}

/// Counts one visit under its referrer's domain (bounded per day).
fn count_referrer(day: &mut DayStatsRecord, referrer: &str, page: &str) {
    let domain = url_domain(referrer);
    match domain {
        Some(d) if Some(&d) != url_domain(page).as_ref() => {
            if let Some(entry) = day.referrers.iter_mut().find(|(n, _)| *n == d) {
                entry.1 += 1;
            } else if day.referrers.len() < MAX_REFERRER_DOMAINS {
                day.referrers.push((d, 1));
            } else {
                day.other_referrers += 1;
            }
        }
        _ => day.direct += 1,
    }
}

/// Counts a visit under its region (the names are the regions file's, at most
/// `regions::MAX_REGIONS` of them plus `未知`, so the list is bounded).
fn count_region(day: &mut DayStatsRecord, region: String) {
    match day.regions.iter_mut().find(|(name, _)| *name == region) {
        Some((_, n)) => *n += 1,
        None => day.regions.push((region, 1)),
    }
}

fn visit_day(day: u32, r: &DayStatsRecord) -> VisitDay {
    VisitDay {
        day,
        visits: r.visits,
        unique_visitors: r.unique_visitors,
        page_views: r.page_views,
        consultations: r.consultations,
    }
}

fn sorted(counts: HashMap<String, u64>) -> Vec<NamedCount> {
    let mut v: Vec<NamedCount> = counts
        .into_iter()
        .filter(|(_, c)| *c > 0)
        .map(|(name, count)| NamedCount { name, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v
}

impl Centre {
    /// The account's web state, read from the store on first use.
    pub(super) fn web_mut(&mut self, account: u64) -> Result<&mut WebAccount, ErrorBody> {
        let loaded = if self.actor_mut(account)?.web.is_none() {
            Some(self.read_web(account)?)
        } else {
            None
        };
        let actor = self.actor_mut(account)?;
        if let Some(w) = loaded {
            actor.web = Some(w);
        }
        actor
            .web
            .as_mut()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "web state not loaded"))
    }

    fn read_web(&self, account: u64) -> Result<WebAccount, ErrorBody> {
        let store = self.shared.store.as_ref();
        let settings = rec::read::<WebSettingsRecord, _>(store, &rec::settings_key(account))
            .map_err(storage)?
            .unwrap_or(WebSettingsRecord {
                account,
                next_code: 1,
                auto_invite: AutoInviteSettings::default(),
            });
        let range = rec::code_range(account);
        let mut codes = BTreeMap::new();
        for kv in store
            .scan(Cf::Web, &range.start, &range.end, MAX_ENTRY_CODES + 1)
            .map_err(storage)?
        {
            let r = EntryCodeRecord::decode(&kv.1).map_err(storage)?;
            codes.insert(r.code.id, r.code);
        }
        Ok(WebAccount {
            settings,
            codes,
            origins: None,
            today: None,
        })
    }

    /// The web requests of agents (permissions checked by `auth.rs`).
    pub(super) fn web_agent_request(
        &mut self,
        account: u64,
        me: u32,
        request: WebAgentRequest,
    ) -> Answer {
        match request {
            WebAgentRequest::ListEntryCodes => Ok(Response::EntryCodes(
                self.web_mut(account)?.codes.values().cloned().collect(),
            )),
            WebAgentRequest::CreateEntryCode { draft } => self.save_code(account, None, draft),
            WebAgentRequest::EditEntryCode { id, draft } => {
                self.save_code(account, Some(id), draft)
            }
            WebAgentRequest::DeleteEntryCode { id } => {
                if self.web_mut(account)?.codes.remove(&id).is_none() {
                    return Err(unknown_code(id));
                }
                self.batch.delete(Cf::Web, &rec::code_key(account, id));
                Ok(Response::Ok)
            }
            WebAgentRequest::ListSiteVisitors => {
                Ok(Response::SiteVisitors(self.site_visitors(account)))
            }
            WebAgentRequest::GetVisitorTrail { visitor } => self.visitor_trail(account, visitor),
            WebAgentRequest::InviteVisitor { visitor, text } => self
                .invite(account, me, &visitor, text, false)
                .map(|invitation| Response::Invited { invitation }),
            WebAgentRequest::GetAutoInvite => Ok(Response::AutoInviteSettings(
                self.web_mut(account)?.settings.auto_invite.clone(),
            )),
            WebAgentRequest::SetAutoInvite { settings } => self.set_auto_invite(account, settings),
            WebAgentRequest::GetVisitTrend {
                from_day,
                until_day,
            } => Ok(Response::VisitTrend(
                self.visit_days(account, from_day, until_day)?.days,
            )),
            WebAgentRequest::GetSiteAnalytics {
                from_day,
                until_day,
            } => Ok(Response::SiteAnalytics(
                self.visit_days(account, from_day, until_day)?,
            )),
            WebAgentRequest::SetAllowedOrigins { origins } => {
                self.set_allowed_origins(account, origins)
            }
            WebAgentRequest::GetAllowedOrigins => {
                Ok(Response::AllowedOrigins(self.allowed_origins(account)?))
            }
        }
    }

    fn save_code(&mut self, account: u64, id: Option<u32>, draft: EntryCodeDraft) -> Answer {
        draft.validate().map_err(code_error)?;
        if let Entry::Agent(agent) = draft.routing {
            if !self.account_mut(account)?.agents.contains_key(&agent) {
                return Err(err(
                    ErrorCode::UNKNOWN_AGENT,
                    format!("agent {agent} does not exist"),
                ));
            }
        }
        let now = self.now_ms;
        let web = self.web_mut(account)?;
        let code = match id {
            Some(id) => {
                let old = web.codes.get(&id).ok_or_else(|| unknown_code(id))?;
                EntryCode {
                    id,
                    draft,
                    created_at: old.created_at,
                    edited_at: now,
                }
            }
            None => {
                if web.codes.len() >= MAX_ENTRY_CODES {
                    return Err(err(
                        ErrorCode::ENTRY_CODE_LIMIT,
                        format!("an account holds at most {MAX_ENTRY_CODES} entry-point codes"),
                    ));
                }
                let id = web.settings.next_code.max(1);
                web.settings.next_code = id.saturating_add(1);
                EntryCode {
                    id,
                    draft,
                    created_at: now,
                    edited_at: now,
                }
            }
        };
        web.codes.insert(code.id, code.clone());
        let settings = web.settings.clone();
        rec::write(&mut self.batch, &rec::settings_key(account), &settings);
        let record = EntryCodeRecord {
            account,
            code: code.clone(),
        };
        rec::write(&mut self.batch, &rec::code_key(account, code.id), &record);
        Ok(Response::EntryCode(code))
    }

    fn set_auto_invite(&mut self, account: u64, settings: AutoInviteSettings) -> Answer {
        if !(1..=MAX_AUTO_INVITE_SECS).contains(&settings.after_secs) {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("after_secs: 1..={MAX_AUTO_INVITE_SECS}"),
            ));
        }
        check_invitation_text(&settings.text)?;
        let web = self.web_mut(account)?;
        web.settings.auto_invite = settings;
        let record = web.settings.clone();
        rec::write(&mut self.batch, &rec::settings_key(account), &record);
        Ok(Response::Ok)
    }

    /// The web requests of customers and visitors.
    pub(super) fn web_customer_request(
        &mut self,
        caller: &Caller,
        account: u64,
        login: &CustomerLogin,
        request: WebCustomerRequest,
    ) -> Answer {
        match request {
            WebCustomerRequest::GetEntryCode { id } => {
                let web = self.web_mut(account)?;
                let code = web.codes.get(&id).ok_or_else(|| unknown_code(id))?;
                Ok(Response::PublicEntryCode(PublicEntryCode {
                    id,
                    kind: code.draft.kind,
                    style: code.draft.style.clone(),
                    anonymous: code.draft.anonymous,
                }))
            }
            WebCustomerRequest::OpenConversationByCode { id } => {
                let entry = {
                    let web = self.web_mut(account)?;
                    web.codes
                        .get(&id)
                        .ok_or_else(|| unknown_code(id))?
                        .draft
                        .routing
                        .clone()
                };
                self.open_from_web(account, login, entry)
            }
            WebCustomerRequest::PageView(view) => {
                view.validate()
                    .map_err(|m| err(ErrorCode::INVALID_ARGUMENT, m))?;
                self.page_view(caller, account, login, view)
            }
            WebCustomerRequest::PageLeft => {
                self.page_left(account, &login.customer);
                Ok(Response::Ok)
            }
            WebCustomerRequest::AnswerInvitation { invitation, accept } => {
                self.answer_invitation(caller, account, login, invitation, accept)
            }
        }
    }

    /// Opens (or continues) the customer's conversation with `entry`, through the one
    /// path `OpenConversation` takes; a new one counts as a consultation of the day.
    fn open_from_web(&mut self, account: u64, login: &CustomerLogin, entry: Entry) -> Answer {
        let before = self
            .chat_mut(account)?
            .routing
            .conversation_of(&login.customer);
        let answer = self.open_customer_conversation(account, login, entry)?;
        if let Response::Conversation(info) = &answer {
            if before != Some(info.conversation) {
                self.web_consultation(account)?;
            }
        }
        Ok(answer)
    }

    /// After `OpenConversation`: a new conversation of a web visitor (channel `Web`)
    /// counts as a consultation of the day.
    pub(super) fn web_opened(
        &mut self,
        account: u64,
        login: &CustomerLogin,
        before: Option<u64>,
        answer: &Response,
    ) -> Result<(), ErrorBody> {
        match answer {
            Response::Conversation(info)
                if login.channel == kefu_wire::chat::Channel::Web
                    && before != Some(info.conversation) =>
            {
                self.web_consultation(account)
            }
            _ => Ok(()),
        }
    }

    /// Counts a conversation opened from the web (a visitor's, or through a code).
    pub(super) fn web_consultation(&mut self, account: u64) -> Result<(), ErrorBody> {
        self.with_today(account, |day| day.consultations += 1)
    }

    /// Applies `f` to today's figures and writes them in the turn's batch.
    fn with_today(
        &mut self,
        account: u64,
        f: impl FnOnce(&mut DayStatsRecord),
    ) -> Result<(), ErrorBody> {
        let today = day_of(self.now_ms);
        let stale = self.web_mut(account)?.today.as_ref().map(|t| t.0) != Some(today);
        if stale {
            let stored = rec::read::<DayStatsRecord, _>(
                self.shared.store.as_ref(),
                &rec::day_key(account, today),
            )
            .map_err(storage)?
            .unwrap_or_default();
            self.web_mut(account)?.today = Some((today, stored, HashSet::new()));
        }
        let web = self.web_mut(account)?;
        let Some((_, day, _)) = web.today.as_mut() else {
            return Err(err(ErrorCode::INTERNAL, "no day"));
        };
        f(day);
        let record = day.clone();
        rec::write(&mut self.batch, &rec::day_key(account, today), &record);
        Ok(())
    }

    /// Whether `visitor` is counted today already; marks it if not (same batch).
    fn first_today(&mut self, account: u64, visitor: &CustomerId) -> Result<bool, ErrorBody> {
        self.with_today(account, |_| {})?;
        let today = day_of(self.now_ms);
        let key = rec::seen_key(account, today, visitor);
        let in_memory = self
            .web_mut(account)?
            .today
            .as_ref()
            .is_some_and(|t| t.2.contains(visitor));
        if in_memory {
            return Ok(false);
        }
        let stored = self
            .shared
            .store
            .get(Cf::Web, &key)
            .map_err(storage)?
            .is_some();
        if let Some(t) = self.web_mut(account)?.today.as_mut() {
            t.2.insert(visitor.clone());
        }
        if stored {
            return Ok(false);
        }
        self.batch.put(Cf::Web, &key, Vec::new());
        Ok(true)
    }

    fn page_view(
        &mut self,
        caller: &Caller,
        account: u64,
        login: &CustomerLogin,
        view: PageView,
    ) -> Answer {
        let now = self.now_ms;
        let Some(session) = caller.session else {
            return Err(err(ErrorCode::NOT_LOGGED_IN, "no session"));
        };
        let customer = login.customer.clone();
        self.page_left(account, &customer);
        let arriving = self
            .web
            .on_site
            .get(&account)
            .and_then(|m| m.get(&customer))
            .is_none_or(|o| o.session != session);
        if arriving {
            let record = rec::read::<VisitorRecord, _>(
                self.shared.store.as_ref(),
                &rec::visitor_key(account, &customer),
            )
            .map_err(storage)?
            .unwrap_or_default();
            let region = self.shared.regions.region_of(caller.peer).to_string();
            self.arrive(account, &customer, (session, region), record, &view)?;
        }
        let first = self.first_today(account, &customer)?;
        self.with_today(account, |day| {
            day.page_views += 1;
            if first {
                day.unique_visitors += 1;
            }
        })?;
        let page = PageRecord {
            url: view.url.clone(),
            title: view.title.clone(),
            referrer: view.referrer.clone(),
            at: now,
            left_at: None,
        };
        let Some(on) = self
            .web
            .on_site
            .get_mut(&account)
            .and_then(|m| m.get_mut(&customer))
        else {
            return Err(err(ErrorCode::INTERNAL, "visitor not on site"));
        };
        let number = on.record.next_page;
        on.record.next_page += 1;
        on.pages = on.pages.saturating_add(1);
        on.url = view.url;
        on.title = view.title;
        if let Some(k) = search_keywords(&view.referrer) {
            on.keywords = Some(k);
        }
        on.open_page = Some((number, page.clone()));
        let keep = u64::try_from(MAX_TRAIL_PAGES).unwrap_or(u64::MAX);
        let prune_to = on.record.next_page.saturating_sub(keep);
        let pruned = prune_to > on.record.first_page;
        let from = on.record.first_page;
        if pruned {
            on.record.first_page = prune_to;
        }
        let visitor = on.record.clone();
        if pruned {
            self.batch.delete_range(
                Cf::Web,
                &rec::page_range(account, &customer, from, prune_to),
            );
        }
        rec::write(
            &mut self.batch,
            &rec::page_key(account, &customer, number),
            &page,
        );
        rec::write(
            &mut self.batch,
            &rec::visitor_key(account, &customer),
            &visitor,
        );
        Ok(Response::Ok)
    }

    /// A session's first page view: it is on the site; a visit is counted, the agents
    /// told, and the automatic invitation armed.
    fn arrive(
        &mut self,
        account: u64,
        customer: &CustomerId,
        (session, region): (SessionId, String),
        record: VisitorRecord,
        view: &PageView,
    ) -> Result<(), ErrorBody> {
        let now = self.now_ms;
        let (referrer, url) = (view.referrer.clone(), view.url.clone());
        self.with_today(account, |day| {
            day.visits += 1;
            count_referrer(day, &referrer, &url);
            count_region(day, region);
        })?;
        let accepted = record.accepted;
        let on = OnSite {
            session,
            arrived_at: now,
            url: view.url.clone(),
            title: view.title.clone(),
            keywords: search_keywords(&view.referrer),
            pages: 0,
            record,
            open_page: None,
            auto_sent: false,
        };
        let shown = site_visitor(customer, &on);
        self.web
            .on_site
            .entry(account)
            .or_default()
            .insert(customer.clone(), on);
        self.push(account, Recipient::AllAgents, Event::VisitorArrived(shown));
        let auto = self.web_mut(account)?.settings.auto_invite.clone();
        if auto.enabled && !accepted {
            let due = now.saturating_add(i64::from(auto.after_secs) * 1000);
            self.web.wheel.insert((account, session), due);
        }
        Ok(())
    }

    /// Closes the dwell of the page the visitor is on (stored in the turn's batch).
    fn page_left(&mut self, account: u64, customer: &CustomerId) {
        let now = self.now_ms;
        let Some(on) = self
            .web
            .on_site
            .get_mut(&account)
            .and_then(|m| m.get_mut(customer))
        else {
            return;
        };
        if let Some((number, mut page)) = on.open_page.take() {
            if number >= on.record.first_page {
                page.left_at = Some(now);
                rec::write(
                    &mut self.batch,
                    &rec::page_key(account, customer, number),
                    &page,
                );
            }
        }
    }

    /// A customer session ended: it is no longer on the site.
    pub(super) fn web_session_gone(
        &mut self,
        account: u64,
        customer: &CustomerId,
        session: SessionId,
    ) {
        let here = self
            .web
            .on_site
            .get(&account)
            .and_then(|m| m.get(customer))
            .is_some_and(|o| o.session == session);
        if !here {
            return;
        }
        self.page_left(account, customer);
        if let Some(m) = self.web.on_site.get_mut(&account) {
            m.remove(customer);
            if m.is_empty() {
                self.web.on_site.remove(&account);
            }
        }
        self.web.wheel.cancel(&(account, session));
        self.web.pending.retain(|_, p| p.session != session);
    }

    fn site_visitors(&self, account: u64) -> Vec<SiteVisitor> {
        let mut v: Vec<SiteVisitor> = self
            .web
            .on_site
            .get(&account)
            .map(|m| m.iter().map(|(c, o)| site_visitor(c, o)).collect())
            .unwrap_or_default();
        v.sort_by_key(|b| std::cmp::Reverse(b.arrived_at));
        v.truncate(MAX_LISTED_VISITORS);
        v
    }

    fn visitor_trail(&mut self, account: u64, visitor: CustomerId) -> Answer {
        let store = self.shared.store.as_ref();
        let record = match self.web.on_site.get(&account).and_then(|m| m.get(&visitor)) {
            Some(on) => Some(on.record.clone()),
            None => rec::read::<VisitorRecord, _>(store, &rec::visitor_key(account, &visitor))
                .map_err(storage)?,
        };
        let cutoff = self.now_ms.saturating_sub(TRAIL_RETENTION_DAYS * DAY_MS);
        let mut pages = Vec::new();
        let mut keywords: Vec<String> = Vec::new();
        if let Some(r) = &record {
            let range = rec::page_range(account, &visitor, r.first_page, r.next_page);
            let mut expired_until = None;
            for kv in store
                .scan(Cf::Web, &range.start, &range.end, MAX_TRAIL_PAGES)
                .map_err(storage)?
            {
                let p = PageRecord::decode(&kv.1).map_err(storage)?;
                if p.at < cutoff {
                    expired_until = Some(kv.0);
                    continue;
                }
                if let Some(k) = search_keywords(&p.referrer) {
                    if !keywords.contains(&k) {
                        keywords.push(k);
                    }
                }
                pages.push(PageVisit {
                    dwell_ms: p.left_at.map(|l| l.saturating_sub(p.at)),
                    url: p.url,
                    title: p.title,
                    referrer: p.referrer,
                    at: p.at,
                });
            }
            if let Some(mut last) = expired_until {
                // Older than the retention: deleted now, in the turn's batch.
                last.push(0);
                self.batch.delete_range(
                    Cf::Web,
                    &crate::store::keys::KeyRange {
                        start: range.start,
                        end: last,
                    },
                );
            }
        }
        let menu_path = self.visitor_menu_path(account, &visitor)?;
        Ok(Response::VisitorTrail(VisitorTrail {
            visitor,
            pages,
            keywords,
            menu_path,
            region: None,
        }))
    }

    /// The menu labels of the visitor's open conversation, if any (M4, §4.9).
    fn visitor_menu_path(
        &mut self,
        account: u64,
        visitor: &CustomerId,
    ) -> Result<Vec<String>, ErrorBody> {
        let Some(conversation) = self.chat_mut(account)?.routing.conversation_of(visitor) else {
            return Ok(Vec::new());
        };
        match self.menu_request(
            account,
            super::dispatch::MenuRequest::GetMenuPath { conversation },
        )? {
            Response::MenuPath(p) => Ok(p.labels),
            _ => Ok(Vec::new()),
        }
    }

    /// Sends an invitation to a visitor on the site; its number.
    fn invite(
        &mut self,
        account: u64,
        agent: u32,
        visitor: &CustomerId,
        text: String,
        automatic: bool,
    ) -> Result<u64, ErrorBody> {
        check_invitation_text(&text)?;
        let on = self
            .web
            .on_site
            .get(&account)
            .and_then(|m| m.get(visitor))
            .ok_or_else(|| {
                err(
                    ErrorCode::VISITOR_NOT_ON_SITE,
                    "the visitor is not on the site",
                )
            })?;
        if on.record.accepted {
            return Err(err(
                ErrorCode::ALREADY_ACCEPTED_INVITATION,
                "the visitor already accepted an invitation",
            ));
        }
        let session = on.session;
        self.web.next_invitation += 1;
        let invitation = self.web.next_invitation;
        if self.web.pending.len() >= MAX_PENDING_INVITATIONS {
            self.web.pending.pop_first();
        }
        self.web.pending.insert(
            invitation,
            Pending {
                account,
                session,
                agent,
            },
        );
        self.push(
            account,
            Recipient::Session(session),
            Event::Invitation(Invitation {
                invitation,
                agent,
                text,
                automatic,
            }),
        );
        Ok(invitation)
    }

    fn answer_invitation(
        &mut self,
        caller: &Caller,
        account: u64,
        login: &CustomerLogin,
        invitation: u64,
        accept: bool,
    ) -> Answer {
        let ok = self
            .web
            .pending
            .get(&invitation)
            .is_some_and(|p| p.account == account && Some(p.session) == caller.session);
        let pending = match self.web.pending.get(&invitation) {
            Some(p) if ok => p.clone(),
            _ => {
                return Err(err(
                    ErrorCode::UNKNOWN_INVITATION,
                    format!("no invitation {invitation} waiting for you"),
                ))
            }
        };
        self.web.pending.remove(&invitation);
        if !accept {
            return Ok(Response::Ok);
        }
        let entry = match pending.agent {
            0 => Entry::Auto,
            agent => Entry::Agent(agent),
        };
        let answer = self.open_from_web(account, login, entry)?;
        // Accepted: never invited again (stored with the conversation's batch).
        let customer = &login.customer;
        if let Some(on) = self
            .web
            .on_site
            .get_mut(&account)
            .and_then(|m| m.get_mut(customer))
        {
            on.record.accepted = true;
            let record = on.record.clone();
            rec::write(
                &mut self.batch,
                &rec::visitor_key(account, customer),
                &record,
            );
        }
        self.web.pending.retain(|_, p| p.session != pending.session);
        self.web.wheel.cancel(&(account, pending.session));
        Ok(answer)
    }

    /// Automatic invitations due at the turn's time (from `Centre::commit`).
    pub(super) fn web_tick(&mut self) {
        let mut due = Vec::new();
        self.web.wheel.advance(self.now_ms, &mut due);
        for (account, session) in due {
            self.auto_invite(account, session);
        }
    }

    fn auto_invite(&mut self, account: u64, session: SessionId) {
        let found = self.web.on_site.get_mut(&account).and_then(|m| {
            m.iter_mut()
                .find(|(_, o)| o.session == session)
                .map(|(c, o)| (c.clone(), o))
        });
        let Some((customer, on)) = found else {
            return;
        };
        if on.auto_sent || on.record.accepted {
            return;
        }
        on.auto_sent = true;
        let in_conversation = self
            .chat_mut(account)
            .map(|c| c.routing.conversation_of(&customer).is_some())
            .unwrap_or(true);
        let settings = match self.web_mut(account) {
            Ok(w) => w.settings.auto_invite.clone(),
            Err(_) => return,
        };
        if !settings.enabled || in_conversation {
            return;
        }
        // A refusal here (the visitor left meanwhile) sends nothing.
        let _ = self.invite(account, 0, &customer, settings.text, true);
    }

    /// The days `from..=until` and the range's referrers and regions.
    pub(super) fn visit_days(
        &mut self,
        account: u64,
        from: u32,
        until: u32,
    ) -> Result<SiteAnalytics, ErrorBody> {
        if until < from || until - from >= MAX_REPORT_DAYS {
            return Err(err(
                ErrorCode::REPORT_RANGE_TOO_LONG,
                format!("a report covers 1..={MAX_REPORT_DAYS} days, from <= until"),
            ));
        }
        self.web_mut(account)?;
        let today = day_of(self.now_ms);
        let mut days = Vec::new();
        let mut referrers: HashMap<String, u64> = HashMap::new();
        let mut regions: HashMap<String, u64> = HashMap::new();
        for day in from..=until {
            let cached = self
                .actors
                .get(&account)
                .and_then(|a| a.web.as_ref())
                .and_then(|w| w.today.as_ref())
                .filter(|t| t.0 == day && day == today)
                .map(|t| t.1.clone());
            let r = match cached {
                Some(r) => r,
                None => rec::read::<DayStatsRecord, _>(
                    self.shared.store.as_ref(),
                    &rec::day_key(account, day),
                )
                .map_err(storage)?
                .unwrap_or_default(),
            };
            for (name, n) in &r.referrers {
                *referrers.entry(name.clone()).or_default() += n;
            }
            *referrers.entry("other".into()).or_default() += r.other_referrers;
            *referrers.entry("direct".into()).or_default() += r.direct;
            for (name, n) in &r.regions {
                *regions.entry(name.clone()).or_default() += n;
            }
            days.push(visit_day(day, &r));
        }
        Ok(SiteAnalytics {
            days,
            referrers: sorted(referrers),
            regions: sorted(regions),
        })
    }
}

fn check_invitation_text(text: &str) -> Result<(), ErrorBody> {
    if text.trim().is_empty() || text.chars().count() > MAX_INVITATION_CHARS {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("text: 1..={MAX_INVITATION_CHARS} characters, not only white space"),
        ));
    }
    Ok(())
}

fn site_visitor(customer: &CustomerId, on: &OnSite) -> SiteVisitor {
    SiteVisitor {
        visitor: customer.clone(),
        arrived_at: on.arrived_at,
        url: on.url.clone(),
        title: on.title.clone(),
        keywords: on.keywords.clone(),
        pages: on.pages,
        accepted_invitation: on.record.accepted,
        region: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrers_are_bounded() {
        let mut d = DayStatsRecord::default();
        for i in 0..(MAX_REFERRER_DOMAINS + 3) {
            count_referrer(
                &mut d,
                &format!("https://s{i}.example/"),
                "https://shop.example/",
            );
        }
        count_referrer(&mut d, "", "https://shop.example/");
        count_referrer(&mut d, "https://shop.example/a", "https://shop.example/b");
        assert_eq!(d.referrers.len(), MAX_REFERRER_DOMAINS);
        assert_eq!(d.other_referrers, 3);
        assert_eq!(d.direct, 2);
    }
}
