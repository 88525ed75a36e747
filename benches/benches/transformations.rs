//! Common transformations over 1 KB inputs, through the public registry
//! (`waf_core::transformations::get`), as a rule applies them.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sekisho_benches::micro::repeat_to;
use std::time::Duration;
use waf_core::syntax::names::TransformationName as T;
use waf_core::transformations::get;

fn transformations(c: &mut Criterion) {
    // Inputs that give each function work to do: escapes, entities, shell noise, spaces.
    let url = repeat_to("q=%27%20OR%201%3D1--+%u0027union%u0020select+", 1024);
    let mixed = repeat_to("Hello WORLD Select FROM Users WHERE Id=1 ", 1024);
    let html = repeat_to(
        "&lt;script&gt;alert(&#x27;x&#39;)&lt;/script&gt; &amp; ",
        1024,
    );
    let cmd = repeat_to("C^A\"L\"L ,;/bin/CAT  /etc/passwd; ", 1024);
    let spaces = repeat_to("a b\tc\nd\x0be\x0cf\rg  ", 1024);
    let cases: [(&str, T, &[u8]); 5] = [
        ("urlDecodeUni", T::UrlDecodeUni, &url),
        ("lowercase", T::Lowercase, &mixed),
        ("htmlEntityDecode", T::HtmlEntityDecode, &html),
        ("cmdLine", T::CmdLine, &cmd),
        ("removeWhitespace", T::RemoveWhitespace, &spaces),
    ];
    let mut g = c.benchmark_group("transformation 1KB");
    g.throughput(Throughput::Bytes(1024));
    for (name, t, input) in cases {
        let f = get(t).expect("a function");
        let mut out = Vec::with_capacity(2048);
        g.bench_function(name, |b| b.iter(|| f(black_box(input), &mut out)));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = transformations
}
criterion_main!(benches);
