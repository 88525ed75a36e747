//! Persistent collections across transactions: `initcol` opens `IP` for the client address,
//! `setvar` counts, a later transaction of the same client sees the count, another client does
//! not, and `expirevar` ends it.

use std::sync::Arc;
use waf_core::{RuleSet, Transaction};

const RULES: &str = r#"
SecRuleEngine On
SecAction "id:1,phase:1,pass,nolog,initcol:ip=%{REMOTE_ADDR}"
SecAction "id:2,phase:1,pass,nolog,setvar:ip.hits=+1"
SecRule ARGS:forget "@streq 1" "id:4,phase:1,pass,nolog,expirevar:ip.hits=0"
SecRule IP:hits "@ge 3" "id:3,phase:1,deny,status:429,log"
"#;

fn request(rules: &Arc<RuleSet>, client: &str, uri: &[u8]) -> Option<u16> {
    let mut tx = Transaction::new(Arc::clone(rules));
    tx.process_connection(client, 40000, "127.0.0.1", 80);
    tx.process_uri(uri, b"GET", b"1.1");
    tx.process_request_headers();
    tx.intervention().map(|it| it.status)
}

#[test]
fn counts_survive_transactions_per_key_and_expire() {
    let rules = Arc::new(RuleSet::from_text("persist.conf", RULES, None).unwrap());
    assert_eq!(request(&rules, "10.0.0.1", b"/"), None);
    assert_eq!(request(&rules, "10.0.0.1", b"/"), None);
    assert_eq!(request(&rules, "10.0.0.1", b"/"), Some(429));
    assert_eq!(
        request(&rules, "10.0.0.2", b"/"),
        None,
        "another client has its own count"
    );
    // expirevar with 0 seconds: gone for the next transaction
    assert_eq!(request(&rules, "10.0.0.1", b"/?forget=1"), Some(429));
    assert_eq!(request(&rules, "10.0.0.1", b"/"), None);
}
