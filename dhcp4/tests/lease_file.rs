//! The lease file through the real file system: replay, durability with group
//! commit, a torn tail after a crash, compaction, and files as Kea writes them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use dhcp4::{Lease, LeaseFile, LeaseState};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dhcp4-leases-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("dhcp4.leases")
}

fn lease(i: u32) -> Lease {
    let [_, _, c, d] = i.to_be_bytes();
    Lease {
        address: Ipv4Addr::new(10, 1, c, d),
        hwaddr: vec![0x02, 0, 0, 0, c, d],
        client_id: (i % 2 == 0).then(|| vec![1, 2, 0, 0, 0, c, d]),
        valid_lifetime: 3600,
        expire: 1_800_000_000 + u64::from(i),
        subnet_id: 1,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: if i % 3 == 0 {
            format!("guest,{i}")
        } else {
            String::new()
        },
        state: LeaseState::Default,
        user_context: String::new(),
    }
}

#[tokio::test]
async fn appended_leases_replay_and_deletions_apply() {
    let path = scratch("replay");
    {
        let (file, replay) = LeaseFile::open(&path).unwrap();
        assert!(replay.leases.is_empty());
        let all: Vec<Lease> = (1..=20).map(lease).collect();
        file.append(&all).await.unwrap();
        let mut renewed = lease(5);
        renewed.expire += 600;
        let mut released = lease(6);
        released.valid_lifetime = 0;
        file.append(&[renewed, released]).await.unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n"
    ));
    let (_file, replay) = LeaseFile::open(&path).unwrap();
    assert_eq!(replay.leases.len(), 19, "lease 6 was released");
    assert_eq!(replay.lines, 22);
    assert!(replay.skipped.is_empty());
    assert_eq!(
        replay.leases[&lease(5).address].expire,
        lease(5).expire + 600
    );
    assert_eq!(replay.leases[&lease(9).address].hostname, "guest,9");
    assert!(!replay.leases.contains_key(&lease(6).address));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_fsyncs_and_all_survive() {
    let path = scratch("group");
    let (file, _) = LeaseFile::open(&path).unwrap();
    let file = Arc::new(file);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 1..=400u32 {
        let file = file.clone();
        tasks.spawn(async move { file.append(&[lease(i)]).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let fsyncs = file.fsyncs();
    assert!(
        (1..400).contains(&fsyncs),
        "group commit: {fsyncs} fsyncs for 400 appends"
    );
    drop(file);
    let (_file, replay) = LeaseFile::open(&path).unwrap();
    assert_eq!(
        replay.leases.len(),
        400,
        "every acknowledged lease is on disk"
    );
}

#[tokio::test]
async fn a_torn_last_line_is_cut_and_the_rest_kept() {
    let path = scratch("torn");
    {
        let (file, _) = LeaseFile::open(&path).unwrap();
        file.append(&[lease(1), lease(2)]).await.unwrap();
    }
    // The process died in the middle of writing a third line.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("10.1.0.3,02:00:00:00:00:03,,36");
    std::fs::write(&path, &text).unwrap();
    {
        let (file, replay) = LeaseFile::open(&path).unwrap();
        assert!(replay.truncated_tail);
        assert_eq!(replay.leases.len(), 2);
        file.append(&[lease(4)]).await.unwrap();
    }
    let (_file, replay) = LeaseFile::open(&path).unwrap();
    assert!(!replay.truncated_tail);
    assert!(replay.skipped.is_empty(), "{:?}", replay.skipped);
    assert_eq!(replay.leases.len(), 3);
}

#[tokio::test]
async fn compaction_keeps_only_live_leases_atomically() {
    let path = scratch("compact");
    let (file, _) = LeaseFile::open(&path).unwrap();
    for round in 0..5u64 {
        let renewals: Vec<Lease> = (1..=50)
            .map(|i| {
                let mut l = lease(i);
                l.expire += round * 60;
                l
            })
            .collect();
        file.append(&renewals).await.unwrap();
    }
    let before = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(before, 1 + 250);
    let live: Vec<Lease> = (1..=50)
        .map(|i| {
            let mut l = lease(i);
            l.expire += 4 * 60;
            l
        })
        .collect();
    file.compact(&live).await.unwrap();
    file.append(&[lease(51)]).await.unwrap();
    drop(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.lines().count(),
        1 + 51,
        "compacted, then appended to the new file"
    );
    let tmp = path.with_extension("leases.tmp");
    assert!(!tmp.exists(), "no temporary file left");
    let (_file, replay) = LeaseFile::open(&path).unwrap();
    assert_eq!(replay.leases.len(), 51);
    assert_eq!(
        replay.leases[&lease(7).address].expire,
        lease(7).expire + 240
    );
}

#[tokio::test]
async fn files_as_kea_writes_them_are_read_and_extended_in_their_format() {
    // Kea 2.6 adds pool_id; ours must append lines of the same shape.
    let path = scratch("kea26");
    std::fs::write(
        &path,
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n\
         192.0.2.10,00:0c:01:02:03:04,ff:00:00:00:01,4000,1800004000,1,1,1,laptop.example.org.,0,,0\n\
         192.0.2.11,00:0c:01:02:03:05,,86400,1800086400,1,0,0,,1,{ \"comment\": \"a&#x2c b\" },0\n",
    )
    .unwrap();
    let (file, replay) = LeaseFile::open(&path).unwrap();
    assert_eq!(file.columns(), 12);
    assert_eq!(replay.leases.len(), 2);
    let declined = &replay.leases[&Ipv4Addr::new(192, 0, 2, 11)];
    assert_eq!(declined.state, LeaseState::Declined);
    assert_eq!(declined.user_context, "{ \"comment\": \"a, b\" }");
    file.append(&[lease(1)]).await.unwrap();
    drop(file);
    let last = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert_eq!(last.split(',').count(), 12, "{last}");

    // A file that is not a DHCPv4 lease file is refused, naming it.
    let v6 = scratch("v6");
    std::fs::write(&v6, "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context\n").unwrap();
    let err = LeaseFile::open(&v6).unwrap_err().to_string();
    assert!(
        err.contains(&v6.display().to_string()) && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn a_commit_window_gathers_appends_and_callbacks_run_once_durable_in_order() {
    let path = scratch("window");
    // A window far longer than it takes to queue 50 appends: they share one
    // fsync (two if the first one started before the rest were queued).
    let (file, _) =
        LeaseFile::open_with_window(&path, std::time::Duration::from_millis(200)).unwrap();
    let (done, results) = std::sync::mpsc::channel();
    for i in 1..=50u32 {
        let done = done.clone();
        let path = path.clone();
        file.submit_append_then(
            &[lease(i)],
            Box::new(move |result| {
                // Durable means readable by a fresh open right now.
                let (_, replay) = LeaseFile::open(&path).unwrap();
                let on_disk = replay.leases.contains_key(&lease(i).address);
                done.send((i, result.is_ok(), on_disk)).unwrap();
            }),
        );
    }
    let answered: Vec<(u32, bool, bool)> = (1..=50)
        .map(|_| {
            results
                .recv_timeout(std::time::Duration::from_secs(10))
                .unwrap()
        })
        .collect();
    let order: Vec<u32> = answered.iter().map(|(i, _, _)| *i).collect();
    assert_eq!(order, (1..=50).collect::<Vec<_>>(), "answered in order");
    assert!(answered.iter().all(|(_, ok, on_disk)| *ok && *on_disk));
    assert!(
        (1..=2).contains(&file.fsyncs()),
        "{} fsyncs for 50 appends in one window",
        file.fsyncs()
    );
}
