// SPDX-License-Identifier: MIT
// A Rust panic: an index out of bounds in main (or, with "thread", in a
// worker whose panic only ends that thread, joined).  It says its pid, waits
// for a line on stdin (the watcher probes the executable as it starts),
// then panics.
fn pick(v: &[u32], i: usize) -> u32 {
    v[i]
}

fn main() {
    println!("pid={}", std::process::id());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let v = vec![1, 2, 3];
    let i = 4 + std::env::args().count() + line.trim().len();
    if std::env::args().nth(1).as_deref() == Some("thread") {
        let r = std::thread::spawn(move || pick(&v, i)).join();
        println!("joined: {}", r.is_err());
        return;
    }
    println!("{}", pick(&v, i));
}
