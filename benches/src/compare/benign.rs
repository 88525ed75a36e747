//! The benign workload: what a WordPress/WooCommerce shop and a small JSON API receive on an
//! ordinary day. Browser page views with the cookies and headers Chrome sends, the shop's
//! admin-ajax and `wc-ajax` form posts, the checkout, REST/Store API JSON bodies, and image
//! uploads as multipart. Some of these are known CRS false positives at PL2 (quotes in free text,
//! HTML in a block-editor post); they are kept on purpose, since real traffic has them too.

use super::workloads::{request, words};
use crs_test::Request;

pub const CHROME_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                             (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
pub const ACCEPT_HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,\
                               image/avif,image/webp,image/apng,*/*;q=0.8";
pub const BEARER: &str = "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsInNjb3BlIjoib3JkZXJzOndyaXRlIiwiZXhwIjoxNzMzNDA0ODAwfQ.dGhpc19pc19ub3RfYV9yZWFsX3NpZ25hdHVyZV8xMjM0";

/// A returning visitor: analytics, cart and order-attribution cookies.
pub const VISITOR_COOKIES: &str = "_ga=GA1.1.1934712345.1732800000; \
     _ga_9QZ3K7LM2P=GS1.1.1732800000.3.1.1732801234.0.0.0; woocommerce_items_in_cart=1; \
     woocommerce_cart_hash=6f1c9d0f0b3e4a2c8d7e5f4a3b2c1d0e; \
     wp_woocommerce_session_3f9a2b1c4d5e6f708192a3b4c5d6e7f8=7%7C%7C1733404800%7C%7C1733401200%7C%7C9b2f1e0d3c4b5a6978877665544332; \
     sbjs_migrations=1418474375998%3D1; \
     sbjs_current=typ%3Dorganic%7C%7C%7Csrc%3Dgoogle%7C%7C%7Cmdm%3Dorganic%7C%7C%7Ccmp%3D%28none%29; \
     sbjs_udata=vst%3D3%7C%7C%7Cuip%3D%28none%29%7C%7C%7Cuag%3DMozilla%2F5.0";

/// A logged-in shop manager.
pub const ADMIN_COOKIES: &str = "wordpress_logged_in_3f9a2b1c4d5e6f708192a3b4c5d6e7f8=shopadmin%7C1733404800%7CQx8kP2vNw4LrT7yZ1mB3cD5fG6hJ9kL0%7Ca1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9; \
     wp-settings-1=libraryContent%3Dbrowse%26editor%3Dtinymce%26posts_list_mode%3Dlist; \
     wp-settings-time-1=1732800000; _ga=GA1.1.1934712345.1732800000";

const NONCE: &str = "8c1e5f2a9d";

fn browser(cookies: &str, referer: &str, accept: &str) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("User-Agent", CHROME_UA.to_string()),
        ("Accept", accept.to_string()),
        ("Accept-Language", "en-US,en;q=0.9,de;q=0.8".into()),
        ("Accept-Encoding", "gzip, deflate, br, zstd".into()),
        (
            "sec-ch-ua",
            r#""Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24""#.into(),
        ),
        ("sec-ch-ua-mobile", "?0".into()),
        ("sec-ch-ua-platform", r#""Windows""#.into()),
        ("Connection", "keep-alive".into()),
    ];
    if !referer.is_empty() {
        h.push(("Referer", format!("https://shop.example.com{referer}")));
    }
    if !cookies.is_empty() {
        h.push(("Cookie", cookies.to_string()));
    }
    h
}

fn get(uri: &str, headers: Vec<(&'static str, String)>) -> Request {
    let h: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    request("GET", uri, &h, Vec::new())
}

fn post(uri: &str, mut headers: Vec<(&'static str, String)>, ctype: &str, body: &[u8]) -> Request {
    headers.push(("Content-Type", ctype.to_string()));
    headers.push(("Origin", "https://shop.example.com".into()));
    let h: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    request("POST", uri, &h, body.to_vec())
}

const FORM: &str = "application/x-www-form-urlencoded; charset=UTF-8";
const JSON: &str = "application/json";

fn page(uri: &str, cookies: &str, referer: &str) -> Request {
    let mut h = browser(cookies, referer, ACCEPT_HTML);
    h.push(("Upgrade-Insecure-Requests", "1".into()));
    h.push(("Sec-Fetch-Dest", "document".into()));
    h.push(("Sec-Fetch-Mode", "navigate".into()));
    h.push(("Sec-Fetch-Site", "same-origin".into()));
    get(uri, h)
}

fn asset(uri: &str, accept: &str) -> Request {
    let mut h = browser(VISITOR_COOKIES, "/shop/", accept);
    h.push(("Sec-Fetch-Mode", "no-cors".into()));
    get(uri, h)
}

fn ajax(uri: &str, cookies: &str, body: &str) -> Request {
    let mut h = browser(cookies, "/checkout/", "*/*");
    h.push(("X-Requested-With", "XMLHttpRequest".into()));
    post(uri, h, FORM, body.as_bytes())
}

fn api(method: &str, uri: &str, body: &str) -> Request {
    let mut h = vec![
        (
            "User-Agent",
            "shop-client/2.3 (+https://shop.example.com)".to_string(),
        ),
        ("Accept", "application/json".into()),
        ("Authorization", BEARER.into()),
    ];
    if body.is_empty() {
        get(uri, h)
    } else {
        h.push(("Content-Type", JSON.into()));
        let hh: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
        request(method, uri, &hh, body.as_bytes().to_vec())
    }
}

fn store_api(uri: &str, body: &str, cookies: &str) -> Request {
    let mut h = browser(cookies, "/cart/", "application/json, */*;q=0.1");
    h.push(("Nonce", NONCE.into()));
    h.push(("X-WP-Nonce", NONCE.into()));
    post(uri, h, JSON, body.as_bytes())
}

/// A multipart part: a form field, or a file.
pub struct Part {
    name: String,
    file: Option<(String, String)>,
    data: Vec<u8>,
}

impl Part {
    pub fn field(name: &str, value: &str) -> Part {
        Part {
            name: name.into(),
            file: None,
            data: value.as_bytes().to_vec(),
        }
    }

    pub fn file(name: &str, filename: &str, ctype: &str, data: Vec<u8>) -> Part {
        Part {
            name: name.into(),
            file: Some((filename.into(), ctype.into())),
            data,
        }
    }
}

/// A `multipart/form-data` body as browsers write it (CRLF lines).
pub fn multipart(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut b = Vec::new();
    for p in parts {
        b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match &p.file {
            None => b.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{}\"\r\n\r\n", p.name).as_bytes(),
            ),
            Some((f, t)) => b.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{f}\"\r\nContent-Type: {t}\r\n\r\n",
                    p.name
                )
                .as_bytes(),
            ),
        }
        b.extend_from_slice(&p.data);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    b
}

/// `len` bytes that look like a JPEG: the JFIF header, then pseudo-random data (xorshift) in
/// which no CR LF can start a boundary line.
pub fn fake_jpeg(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00,
    ];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while v.len() + 2 < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = (x >> 24) as u8;
        // keep '-' after a LF out, so the data never holds a boundary line
        if b == b'-' && v.last() == Some(&b'\n') {
            continue;
        }
        v.push(b);
    }
    v.extend_from_slice(&[0xff, 0xd9]);
    v
}

fn upload(uri: &str, cookies: &str, boundary: &str, parts: &[Part]) -> Request {
    let h = browser(cookies, "/wp-admin/upload.php", "*/*");
    post(
        uri,
        h,
        &format!("multipart/form-data; boundary={boundary}"),
        &multipart(boundary, parts),
    )
}

/// The benign requests (52).
pub fn requests() -> Vec<Request> {
    let v = VISITOR_COOKIES;
    let a = ADMIN_COOKIES;
    let checkout_fields = "billing_first_name=Anna&billing_last_name=M%C3%BCller&billing_company=\
        &billing_country=DE&billing_address_1=Friedrichstra%C3%9Fe+123&billing_address_2=\
        &billing_postcode=10115&billing_city=Berlin&billing_state=&billing_phone=%2B49+30+1234567\
        &billing_email=anna.mueller%40example.de&shipping_method%5B0%5D=flat_rate%3A1";
    let mut r = vec![
        // --- page views -------------------------------------------------------------------
        page("/", v, ""),
        page("/shop/", v, "/"),
        page("/shop/page/2/?orderby=popularity", v, "/shop/"),
        page(
            "/product-category/clothing/hoodies/?filter_color=blue&query_type_color=or",
            v,
            "/shop/",
        ),
        page("/product/hoodie-with-logo/", v, "/product-category/clothing/hoodies/"),
        page("/product/beanie/?attribute_pa_color=red", v, "/shop/"),
        page("/?s=blue+hoodie&post_type=product", v, "/"),
        page("/cart/", v, "/product/hoodie-with-logo/"),
        page("/checkout/", v, "/cart/"),
        page("/my-account/", v, "/"),
        page("/my-account/orders/", v, "/my-account/"),
        page("/my-account/view-order/4711/", v, "/my-account/orders/"),
        page("/blog/2024/11/black-friday-deals/", v, "/"),
        page("/checkout/order-received/4711/?key=wc_order_Xy7pQ2mN4kLs", v, "/checkout/"),
        page("/wp-login.php", "", ""),
        page("/wp-admin/", a, "/wp-login.php"),
        page("/wp-admin/edit.php?post_type=shop_order&paged=2", a, "/wp-admin/"),
        page("/wp-admin/post.php?post=1234&action=edit", a, "/wp-admin/edit.php"),
        page(
            "/wp-admin/admin.php?page=wc-orders&action=edit&id=4711",
            a,
            "/wp-admin/",
        ),
        // --- assets and feeds -------------------------------------------------------------
        asset("/wp-content/themes/storefront/style.css?ver=4.6.0", "text/css,*/*;q=0.1"),
        asset(
            "/wp-content/plugins/woocommerce/assets/js/frontend/cart-fragments.min.js?ver=9.4.2",
            "*/*",
        ),
        asset("/wp-includes/js/jquery/jquery.min.js?ver=3.7.1", "*/*"),
        asset(
            "/wp-content/uploads/2024/10/hoodie-with-logo-2-300x300.jpg",
            "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
        ),
        asset("/favicon.ico", "image/avif,image/webp,*/*;q=0.8"),
        get("/feed/", vec![("User-Agent", "Feedly/1.0 (+http://www.feedly.com/fetcher.html)".into()), ("Accept", "application/rss+xml, */*".into())]),
        get("/robots.txt", vec![("User-Agent", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)".into()), ("Accept", "*/*".into())]),
        get("/sitemap_index.xml", vec![("User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)".into()), ("Accept", "*/*".into())]),
        // --- REST reads ------------------------------------------------------------------
        get(
            "/wp-json/wp/v2/posts?per_page=10&_embed=1",
            browser(v, "/blog/", "application/json, */*;q=0.1"),
        ),
        get(
            "/wp-json/wc/store/v1/products?per_page=12&page=1&orderby=date&order=desc",
            browser(v, "/shop/", "application/json, */*;q=0.1"),
        ),
        get("/wp-json/wc/store/v1/cart", browser(v, "/cart/", "application/json, */*;q=0.1")),
        // --- admin-ajax and wc-ajax form posts --------------------------------------------
        ajax("/?wc-ajax=get_refreshed_fragments", v, "time=1732801234567"),
        ajax(
            "/wp-admin/admin-ajax.php",
            v,
            "action=woocommerce_add_to_cart&product_sku=HD-00042&product_id=42&quantity=2",
        ),
        ajax(
            "/wp-admin/admin-ajax.php",
            a,
            "data%5Bwp-refresh-post-lock%5D%5Bpost_id%5D=1234&data%5Bwp-refresh-post-lock%5D%5Block%5D=1732801234%3A1\
             &interval=60&_nonce=8c1e5f2a9d&action=heartbeat&screen_id=post&has_focus=true",
        ),
        ajax(
            "/?wc-ajax=update_order_review",
            v,
            &format!(
                "security={NONCE}&payment_method=stripe&country=DE&state=&postcode=10115&city=Berlin\
                 &address=Friedrichstra%C3%9Fe+123&address_2=&s_country=DE&s_state=&s_postcode=10115\
                 &s_city=Berlin&s_address=Friedrichstra%C3%9Fe+123&s_address_2=&has_full_address=true\
                 &post_data={}",
                checkout_fields.replace('%', "%25").replace('&', "%26").replace('=', "%3D")
            ),
        ),
        ajax(
            "/?wc-ajax=checkout",
            v,
            &format!(
                "{checkout_fields}&order_comments=Please+leave+the+parcel+with+the+neighbour+at+number+12.\
                 &payment_method=stripe&terms=on&terms-field=1&woocommerce-process-checkout-nonce={NONCE}\
                 &_wp_http_referer=%2F%3Fwc-ajax%3Dupdate_order_review"
            ),
        ),
        post(
            "/wp-login.php",
            browser("wordpress_test_cookie=WP%20Cookie%20check", "/wp-login.php", ACCEPT_HTML),
            "application/x-www-form-urlencoded",
            b"log=shopadmin&pwd=S3cure%21Passw0rd%232024&wp-submit=Log+In\
              &redirect_to=https%3A%2F%2Fshop.example.com%2Fwp-admin%2F&testcookie=1",
        ),
        post(
            "/my-account/",
            browser(v, "/my-account/", ACCEPT_HTML),
            "application/x-www-form-urlencoded",
            format!("username=anna.mueller%40example.de&password=Winter2024%21%21&rememberme=forever&woocommerce-login-nonce={NONCE}&_wp_http_referer=%2Fmy-account%2F&login=Log+in").as_bytes(),
        ),
        post(
            "/my-account/edit-address/billing/",
            browser(v, "/my-account/edit-address/billing/", ACCEPT_HTML),
            "application/x-www-form-urlencoded",
            format!("{checkout_fields}&save_address=Save+address&woocommerce-edit-address-nonce={NONCE}&action=edit_address").as_bytes(),
        ),
        post(
            "/product/hoodie-with-logo/",
            browser(v, "/product/hoodie-with-logo/", ACCEPT_HTML),
            "application/x-www-form-urlencoded",
            b"attribute_pa_size=m&attribute_pa_color=blue&quantity=1&add-to-cart=42&product_id=42&variation_id=57",
        ),
        post(
            "/cart/",
            browser(v, "/cart/", ACCEPT_HTML),
            "application/x-www-form-urlencoded",
            format!("cart%5B3c59dc048e8850243be8079a5c74d079%5D%5Bqty%5D=3&coupon_code=&update_cart=Update+cart&woocommerce-cart-nonce={NONCE}&_wp_http_referer=%2Fcart%2F").as_bytes(),
        ),
        post(
            "/wp-comments-post.php",
            browser(v, "/product/hoodie-with-logo/", ACCEPT_HTML),
            "application/x-www-form-urlencoded",
            format!(
                "comment={}&rating=5&author=John+Miller&email=john.miller%40example.com&url=\
                 &wp-comment-cookies-consent=yes&submit=Submit&comment_post_ID=42&comment_parent=0",
                words(3, 40, "+")
            )
            .as_bytes(),
        ),
        // --- JSON: WooCommerce Store API, WordPress REST, a generic API -------------------
        store_api(
            "/wp-json/wc/store/v1/cart/add-item",
            r#"{"id":42,"quantity":2,"variation":[{"attribute":"pa_color","value":"blue"},{"attribute":"pa_size","value":"m"}]}"#,
            v,
        ),
        store_api(
            "/wp-json/wc/store/v1/checkout",
            r#"{"billing_address":{"first_name":"Anna","last_name":"Müller","company":"","address_1":"Friedrichstraße 123","address_2":"","city":"Berlin","state":"","postcode":"10115","country":"DE","email":"anna.mueller@example.de","phone":"+49 30 1234567"},"shipping_address":{"first_name":"Anna","last_name":"Müller","company":"","address_1":"Friedrichstraße 123","address_2":"","city":"Berlin","state":"","postcode":"10115","country":"DE"},"customer_note":"","create_account":false,"payment_method":"stripe","payment_data":[{"key":"wc-stripe-payment-method","value":"pm_1QAbCdEfGhIjKlMn"},{"key":"wc-stripe-is-deferred-intent","value":true}],"extensions":{}}"#,
            v,
        ),
        store_api(
            "/wp-json/wp/v2/posts/1234?_locale=user",
            r#"{"id":1234,"title":"Black Friday deals","status":"draft","excerpt":"Our biggest sale of the year","content":"<!-- wp:paragraph -->\n<p>Our biggest sale of the year starts now: 30% off all hoodies.</p>\n<!-- /wp:paragraph -->"}"#,
            a,
        ),
        api("GET", "/api/v1/products?category=shoes&size=42&sort=-price&page=3&limit=20", ""),
        api("GET", "/api/v1/orders/ORD-2024-000123", ""),
        api(
            "POST",
            "/api/v1/orders",
            r#"{"customer_id":42,"currency":"EUR","items":[{"sku":"HD-00042","quantity":2,"price":49.9},{"sku":"BN-00007","quantity":1,"price":19.0}],"shipping":{"method":"dhl_express","address":{"name":"Anna Müller","street":"Friedrichstraße 123","zip":"10115","city":"Berlin","country":"DE"}},"coupon":"BLACKFRIDAY30"}"#,
        ),
        api(
            "POST",
            "/api/v1/auth/refresh",
            r#"{"refresh_token":"rt_7f3a9c2e1b5d4f6a8c0e2b4d6f8a0c2e","client_id":"shop-web"}"#,
        ),
        api(
            "POST",
            "/api/v1/search",
            r#"{"query":"waterproof jacket","filters":{"price":{"min":50,"max":200},"brands":["Acme","Northwind"],"in_stock":true},"page":{"size":24,"cursor":"eyJvZmZzZXQiOjI0fQ"}}"#,
        ),
        api(
            "POST",
            "/graphql",
            r#"{"operationName":"Products","query":"query Products($first: Int) { products(first: $first) { nodes { id name price } } }","variables":{"first":12}}"#,
        ),
        request(
            "OPTIONS",
            "/api/v1/orders",
            &[
                ("User-Agent", CHROME_UA),
                ("Accept", "*/*"),
                ("Origin", "https://app.example.com"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "authorization,content-type"),
            ],
            Vec::new(),
        ),
    ];
    // --- multipart uploads ------------------------------------------------------------------
    let b = "----WebKitFormBoundaryx8Hc2pQf3RzT6wYb";
    r.push(upload(
        "/wp-admin/async-upload.php",
        a,
        b,
        &[
            Part::field("name", "hoodie-blue.jpg"),
            Part::field("action", "upload-attachment"),
            Part::field("_wpnonce", NONCE),
            Part::file(
                "async-upload",
                "hoodie-blue.jpg",
                "image/jpeg",
                fake_jpeg(24 * 1024, 1),
            ),
        ],
    ));
    r.push(upload(
        "/wp-json/contact-form-7/v1/contact-forms/123/feedback",
        v,
        b,
        &[
            Part::field("_wpcf7", "123"),
            Part::field("_wpcf7_version", "5.9.8"),
            Part::field("_wpcf7_locale", "en_US"),
            Part::field("your-name", "Anna Müller"),
            Part::field("your-email", "anna.mueller@example.de"),
            Part::field("your-subject", "Order 4711: wrong size"),
            Part::field("your-message", &words(5, 60, " ")),
            Part::file(
                "your-file",
                "photo.jpg",
                "image/jpeg",
                fake_jpeg(60 * 1024, 2),
            ),
        ],
    ));
    r.push(upload(
        "/my-account/edit-account/",
        v,
        b,
        &[
            Part::field("account_first_name", "Anna"),
            Part::field("account_last_name", "Müller"),
            Part::field("account_display_name", "anna.m"),
            Part::field("account_email", "anna.mueller@example.de"),
            Part::file(
                "profile_picture",
                "me.jpg",
                "image/jpeg",
                fake_jpeg(8 * 1024, 3),
            ),
            Part::field("save-account-details-nonce", NONCE),
            Part::field("action", "save_account_details"),
        ],
    ));
    r
}
