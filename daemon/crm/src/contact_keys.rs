//! The customer-key → contact-number map of one account, looked up by the protocol's
//! [`CustomerId`] without building a [`CustomerKey`]: the blacklist check and the
//! exclusive-owner check ask it on every customer message, and building a key copies
//! the id (an allocation) only to throw it away.

use crate::contact::CustomerKey;
use kefu_wire::chat::CustomerId;
use std::collections::HashMap;

/// Contact numbers by customer key, one map per kind of key.
#[derive(Debug, Clone, Default)]
pub struct ContactKeys {
    identified: HashMap<String, u64>,
    visitors: HashMap<[u8; 16], u64>,
}

impl ContactKeys {
    /// An empty map.
    pub fn new() -> Self {
        ContactKeys::default()
    }

    /// The contact number of `key`.
    pub fn get(&self, key: &CustomerKey) -> Option<&u64> {
        match key {
            CustomerKey::Identified(id) => self.identified.get(id.as_str()),
            CustomerKey::Visitor(v) => self.visitors.get(v),
        }
    }

    /// The contact number of `customer`, copying nothing. An id that is no valid key
    /// (empty, too long) is never in the map.
    pub fn get_customer(&self, customer: &CustomerId) -> Option<u64> {
        match customer {
            CustomerId::Identified(id) => self.identified.get(id.as_str()).copied(),
            CustomerId::Visitor(v) => self.visitors.get(v).copied(),
        }
    }

    /// Whether `key` is a contact.
    pub fn contains_key(&self, key: &CustomerKey) -> bool {
        self.get(key).is_some()
    }

    /// Maps `key` to `no`; the number it had, if any.
    pub fn insert(&mut self, key: CustomerKey, no: u64) -> Option<u64> {
        match key {
            CustomerKey::Identified(id) => self.identified.insert(id, no),
            CustomerKey::Visitor(v) => self.visitors.insert(v, no),
        }
    }

    /// Forgets `key`; the number it had, if any.
    pub fn remove(&mut self, key: &CustomerKey) -> Option<u64> {
        match key {
            CustomerKey::Identified(id) => self.identified.remove(id.as_str()),
            CustomerKey::Visitor(v) => self.visitors.remove(v),
        }
    }

    /// Whether no key is mapped.
    pub fn is_empty(&self) -> bool {
        self.identified.is_empty() && self.visitors.is_empty()
    }

    /// How many keys are mapped.
    pub fn len(&self) -> usize {
        self.identified.len() + self.visitors.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_id_finds_the_number_of_its_key() {
        let mut keys = ContactKeys::new();
        assert!(keys.is_empty());
        let alice = CustomerKey::identified("alice").unwrap();
        let visitor = CustomerKey::Visitor([7; 16]);
        assert_eq!(keys.insert(alice.clone(), 1), None);
        assert_eq!(keys.insert(visitor.clone(), 2), None);
        assert_eq!(keys.insert(alice.clone(), 3), Some(1));
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.get(&alice), Some(&3));
        assert_eq!(
            keys.get_customer(&CustomerId::Identified("alice".into())),
            Some(3)
        );
        assert_eq!(keys.get_customer(&CustomerId::Visitor([7; 16])), Some(2));
        // Same bytes, other kind: not the same key.
        assert_eq!(keys.get_customer(&CustomerId::Visitor([0; 16])), None);
        assert_eq!(
            keys.get_customer(&CustomerId::Identified(String::new())),
            None
        );
        assert_eq!(keys.remove(&alice), Some(3));
        assert!(!keys.contains_key(&alice));
        assert!(keys.contains_key(&visitor));
        assert_eq!(keys.remove(&visitor), Some(2));
        assert!(keys.is_empty());
    }
}
