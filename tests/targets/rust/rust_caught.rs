// SPDX-License-Identifier: MIT
// Panics that end nothing: one caught by catch_unwind in main, one ending a
// worker thread (join() sees it).  Exits 0.
fn charge(order: u32) -> u32 {
    if order > 5 {
        panic!("payment {} declined", order);
    }
    order
}

fn main() {
    println!("pid={}", std::process::id());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let r = std::panic::catch_unwind(|| charge(7));
    println!("caught: {}", r.is_err());
    let t = std::thread::spawn(|| charge(8)).join();
    println!("joined: {}", t.is_err());
}
