//! One account set up for the value-added tests (broadcasts, their replies and lists,
//! surveys, survey broadcasts): units topped up, 1001 at a security level, agent 1002
//! as the test needs it, the customer-signing key, a contact group `VIP` and contacts.

use super::{add_agent, create_account, customer_key, give_role, TestServer, PASSWORD};
use kefu_wire::chat::CustomerId;
use kefu_wire::crm::{ContactEdit, ContactState, GroupEdit, GroupNode};
use kefu_wire::{Client, Request, Response, SecurityLevel};

/// The password `value_added_account` gives agent 1002.
pub const PASSWORD_1002: &str = "password 1002";

/// Agent 1002 of the account.
#[derive(Debug, Clone, Copy)]
pub enum Agent1002 {
    /// Not created.
    No,
    /// Created without a role, not logged in.
    Added,
    /// Created with a role of these permissions, and logged in.
    With(&'static [u16]),
}

/// What the account should hold.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    /// Units topped up (0: none).
    pub units: u64,
    /// 1001's security level.
    pub level: SecurityLevel,
    /// Agent 1002.
    pub agent: Agent1002,
    /// Contacts: id, state, in group VIP.
    pub contacts: &'a [(&'a str, ContactState, bool)],
}

/// The friends c1, c2, c3 in VIP.
pub const THREE_IN_VIP: &[(&str, ContactState, bool)] = &[
    ("c1", ContactState::Friend, true),
    ("c2", ContactState::Friend, true),
    ("c3", ContactState::Friend, true),
];

/// The friends c1, c2, c3 in VIP and c4 outside it.
pub const THREE_IN_VIP_ONE_OUT: &[(&str, ContactState, bool)] = &[
    ("c1", ContactState::Friend, true),
    ("c2", ContactState::Friend, true),
    ("c3", ContactState::Friend, true),
    ("c4", ContactState::Friend, false),
];

/// The account as made.
pub struct ValueAddedAccount {
    /// Agent 1001, logged in.
    pub boss: Client,
    /// Agent 1002, logged in when it was given permissions.
    pub agent: Option<Client>,
    /// The group VIP.
    pub vip: u32,
    /// The customer-signing key (`login_customer`).
    pub key: [u8; 32],
}

/// Creates `account` as `spec` says, through `admin` (the operator).
pub fn value_added_account(
    s: &TestServer,
    admin: &mut Client,
    account: u64,
    spec: Spec<'_>,
) -> ValueAddedAccount {
    create_account(admin, account);
    if !matches!(spec.agent, Agent1002::No) {
        add_agent(admin, account, 1002, Some(PASSWORD_1002));
    }
    if spec.units > 0 {
        admin
            .request(&Request::AdminBalanceTopUp {
                account,
                units: spec.units,
            })
            .expect("topped up");
    }
    let key = customer_key(admin, account);
    let mut boss = s.client();
    boss.login(account, 1001, PASSWORD).unwrap();
    if let Agent1002::With(permissions) = spec.agent {
        give_role(&mut boss, 1002, permissions);
    }
    boss.request(&Request::SetSecurityLevel { level: spec.level })
        .expect("level set");
    let vip = match boss
        .request(&Request::EditGroups(GroupEdit::CreateGroup {
            name: "VIP".into(),
            category: None,
        }))
        .unwrap()
    {
        Response::Groups(g) => g
            .iter()
            .find_map(|n| match n {
                GroupNode::Group(g) if g.name == "VIP" => Some(g.id),
                _ => None,
            })
            .expect("VIP"),
        other => panic!("{other:?}"),
    };
    for (who, state, in_vip) in spec.contacts {
        let r = boss
            .request(&Request::CreateContact {
                customer: CustomerId::Identified((*who).into()),
                state: *state,
                edit: ContactEdit {
                    groups: Some(if *in_vip { vec![vip] } else { vec![] }),
                    ..ContactEdit::default()
                },
            })
            .unwrap();
        assert!(matches!(r, Response::Contact(_)), "{r:?}");
    }
    let agent = match spec.agent {
        Agent1002::With(_) => {
            let mut a = s.client();
            a.login(account, 1002, PASSWORD_1002).unwrap();
            Some(a)
        }
        _ => None,
    };
    ValueAddedAccount {
        boss,
        agent,
        vip,
        key,
    }
}
