"""The web page of `sonyctl serve` in a real browser (Debian's chromium, headless), against a
simulated ILCE-7SM3 over PTP/IP (its owner's actions on a pipe) and a simulated ILCE-6000.

Each test waits for what it expects with a time-out (Playwright's `expect`, `wait_for_function`,
or `poll` below for what only Python sees); none sleeps to let something happen."""

import time
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from conftest import EXPECT_MS, NOTES, Server, free_port

LV = "#lv"
ISO = "select[data-prop=iso]"


def poll(page, check, what, timeout_ms=EXPECT_MS):
    """Waits until `check()` is true, letting Playwright deliver its events meanwhile."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_ms} ms: {what}")
        page.wait_for_timeout(100)


def open_page(context, server, camera, path="/"):
    """A new page of `context` on `server`'s page, showing `camera`, its events stream open.
    (Every page of the `context` fixture's contexts is watched: see conftest's `Watch`.)"""
    page = context.new_page()
    response = page.goto(server.origin + path)
    assert response is not None and response.status == 200, response and response.status
    expect(page.locator("#camera-select option")).not_to_have_count(0)
    if page.locator("#camera-select").input_value() != camera:
        page.select_option("#camera-select", camera)
    expect(page.locator("#camera-select")).to_have_value(camera)
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    return page


def frame(page, selector=LV):
    """The `data-frame` of `selector`, as a number (-1 when not set)."""
    v = page.locator(selector).get_attribute("data-frame")
    return int(v) if v not in (None, "") else -1


def wait_frame_after(page, after, selector=LV):
    """Waits until `selector`'s `data-frame` is above `after`."""
    page.wait_for_function(
        """([sel, after]) => {
            const v = document.querySelector(sel)?.dataset.frame;
            return v !== undefined && v !== "" && Number(v) > after;
        }""",
        arg=[selector, after],
    )


def other_iso(server, camera, avoid=()):
    """A settable ISO of `camera` other than its current one (and `avoid`): (raw, display)."""
    prop = server.api("GET", f"cameras/{camera}/properties/iso")
    settable = {s["display"]: s["value"] for s in prop["settable"]}
    for display in ("800", "1600", "400", "200", "6400"):
        if display in settable and display != prop["display"] and display not in avoid:
            return settable[display], display
    raise AssertionError(f"no other settable ISO: {prop}")


def set_iso_in_page(page, raw):
    page.select_option(ISO, str(raw))
    # Leave the field, so that the page takes the camera's answer into it at once.
    page.locator(ISO).blur()


def gallery_names(page):
    return page.eval_on_selector_all(".gallery-item", "els => els.map(e => e.dataset.name)")


def take_focus_away(page):
    page.evaluate("() => document.activeElement && document.activeElement.blur()")


def record_states(page, selector, name):
    """Records every `data-state` of `selector` from now on into `window[name]` (the old
    value of each change too, so that a state held for less than a task is seen)."""
    page.evaluate(
        """([selector, name]) => {
            const el = document.querySelector(selector);
            const seen = window[name] = [el.dataset.state];
            new MutationObserver(records => {
                for (const r of records) seen.push(r.oldValue);
                seen.push(el.dataset.state);
            }).observe(el, {attributes: true, attributeFilter: ['data-state'],
                            attributeOldValue: true});
        }""",
        [selector, name],
    )


def track_conn(page):
    """Records every state `#conn` takes from now on into `window.__conn`, and marks the
    document (`window.__same_document`) to show later that it was not reloaded."""
    page.evaluate("() => { window.__same_document = true; }")
    record_states(page, "#conn", "__conn")


def wait_conn_sequence(page, first, then, timeout_ms=EXPECT_MS):
    """Waits until `#conn` was `first` and is `then` now (after it), in the same document."""
    page.wait_for_function(
        """([first, then]) => {
            const seen = window.__conn || [];
            const i = seen.indexOf(first);
            const state = document.querySelector('#conn').dataset.state;
            return i >= 0 && state === then && seen.slice(i + 1).includes(then);
        }""",
        arg=[first, then],
        timeout=timeout_ms,
    )
    assert page.evaluate("window.__same_document === true"), "the page was reloaded"


def test_page_loads_without_errors_and_fetches_only_from_its_server(context, server, ids, watch):
    page = open_page(context, server, ids["ip"])
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    wait_frame_after(page, 0)
    wait_frame_after(page, 0, "#histogram")
    expect(page.locator("#gallery")).to_be_attached()
    expect(page.locator(f"{ISO} option").first).to_be_attached()
    outside = [
        u for u in watch.requests
        if not (u.startswith(server.origin + "/") or u.startswith("data:")
                or u.startswith(f"blob:{server.origin}/"))
    ]
    assert outside == [], f"requests outside {server.origin}: {outside}"
    assert watch.requests, "the watch sees the page's requests"
    # Two long-lived connections, both the selected camera's: its events and its live view.
    poll(page, lambda: len(watch.streams(kind="")) == 2, "two streams open")
    assert len(watch.streams(ids["ip"])) == 1, watch.streams(kind="")
    assert len(watch.streams(ids["ip"], kind="/events")) == 1, watch.streams(kind="")
    assert watch.errors == [], watch.errors


def test_live_view_updates_with_histogram_and_af_frames(context, server, ids, sim):
    cam = ids["ip"]
    mode = server.api("GET", f"cameras/{cam}/properties/focus-mode")
    af_s = [s["value"] for s in mode["settable"] if s["display"] == "AF-S"]
    assert af_s, mode
    server.api("PUT", f"cameras/{cam}/properties/focus-mode", {"value": af_s[0]})
    page = open_page(context, server, cam)
    lv = page.locator(LV)
    expect(lv).to_have_attribute("data-state", "playing")
    wait_frame_after(page, 0)
    first = frame(page)
    wait_frame_after(page, first)
    assert frame(page) > first
    # The histogram follows the pictures.
    wait_frame_after(page, 0, "#histogram")
    h = frame(page, "#histogram")
    wait_frame_after(page, h, "#histogram")
    # AF frames drawn in AF-S.
    expect(page.locator("select[data-prop=focus-mode]")).to_have_attribute("data-current", "AF-S")
    page.wait_for_function("() => Number(document.querySelector('#lv').dataset.afFrames) >= 1")


def test_setting_iso_in_the_page_reaches_the_camera(context, server, ids):
    cam = ids["ip"]
    page = open_page(context, server, cam)
    raw, display = other_iso(server, cam)
    expect(page.locator(f"{ISO} option[value='{raw}']")).to_be_attached()
    set_iso_in_page(page, raw)
    poll(
        page,
        lambda: server.api("GET", f"cameras/{cam}/properties/iso")["current"] == raw,
        f"the camera's ISO is {display}",
    )
    expect(page.locator(ISO)).to_have_attribute("data-current", display)
    expect(page.locator(ISO)).to_have_value(str(raw))


def test_owner_dial_turn_appears_in_the_page(context, server, ids, sim):
    cam = ids["ip"]
    prop = server.api("GET", f"cameras/{cam}/properties/iso")
    if prop["display"] == "3200":
        raw, _ = other_iso(server, cam, avoid=("3200",))
        server.api("PUT", f"cameras/{cam}/properties/iso", {"value": raw})
    page = open_page(context, server, cam)
    expect(page.locator(ISO)).not_to_have_attribute("data-current", "3200")
    take_focus_away(page)
    sim.act("set iso 3200")
    expect(page.locator(ISO)).to_have_attribute("data-current", "3200")
    expect(page.locator(ISO)).to_have_value("3200")


def test_capture_appears_in_the_gallery_and_delete_removes_it(context, server, ids, shots):
    cam = ids["ip"]
    page = open_page(context, server, cam)
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    before = set(gallery_names(page))
    page.click("#btn-shutter")
    page.wait_for_function(
        "n => document.querySelectorAll('.gallery-item').length > n", arg=len(before)
    )
    new = [n for n in gallery_names(page) if n not in before]
    assert new, "a new gallery item"
    jpeg = [n for n in new if n.upper().endswith((".JPG", ".JPEG"))]
    assert jpeg, f"a JPEG among {new}"
    name = jpeg[0]
    assert gallery_names(page)[0] in new, "newest first"
    item = page.locator(f'.gallery-item[data-name="{name}"]')
    page.wait_for_function(
        """sel => { const i = document.querySelector(sel);
                    return i !== null && i.complete && i.naturalWidth > 0; }""",
        arg=f'.gallery-item[data-name="{name}"] img',
    )
    href = item.locator("a.open").evaluate("a => a.href")
    assert href == f"{server.origin}/api/v1/cameras/{cam}/images/{name}", href
    expect(item.locator("a.download")).to_have_attribute("download", name)
    # The README's picture: a gallery of a few images beside the live view.
    while len(gallery_names(page)) < 3:
        n = len(gallery_names(page))
        page.click("#btn-shutter")
        page.wait_for_function("n => document.querySelectorAll('.gallery-item').length > n", arg=n)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gallery-item img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    take_focus_away(page)
    wait_frame_after(page, 0)
    page.screenshot(path=str(shots / "desktop.png"))
    page.screenshot(path=str(shots / "desktop-full.png"), full_page=True)
    # Delete, answering the confirmation.
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    page.once("dialog", accept)
    item.locator("button.delete").click()
    expect(item).to_have_count(0)
    assert dialogs == ["confirm"], dialogs
    poll(
        page,
        lambda: name not in [i["name"] for i in server.api("GET", f"cameras/{cam}/images")["images"]],
        f"{name} deleted on the server",
    )


def test_a_click_on_the_picture_moves_the_af_point(context, server, ids):
    page = open_page(context, server, ids["ip"])
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    wait_frame_after(page, 0)
    canvas = page.locator("#lv-canvas")
    box = canvas.bounding_box()
    assert box is not None
    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/focus-point")
    ) as request:
        canvas.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.75})
    body = request.value.post_data_json
    assert abs(body["x"] - 160) <= 640 * 0.03 and abs(body["y"] - 360) <= 480 * 0.03, body


def test_bulb_job_counts_down_and_delivers(context, server, ids):
    page = open_page(context, server, ids["ip"])
    before = len(gallery_names(page))
    record_states(page, "#exposure", "__exposure")
    page.fill("#bulb-seconds", "2")
    page.click("#btn-bulb")
    job = page.locator("#job")
    expect(job).to_have_attribute("data-state", "running")
    page.wait_for_function("() => document.querySelector('#job-progress').value > 0")
    expect(job).to_have_attribute("data-state", "done")
    page.wait_for_function(
        "n => document.querySelectorAll('.gallery-item').length > n", arg=before
    )
    seen = page.evaluate("window.__exposure")
    assert "exposing" in seen, f"#exposure went through {seen}"
    expect(page.locator("#exposure")).to_have_attribute("data-state", "idle")


def test_movie_button_shows_recording(context, server, ids):
    page = open_page(context, server, ids["sim"])
    movie = page.locator("#btn-movie")
    expect(movie).to_have_attribute("aria-pressed", "false")
    movie.click()
    expect(movie).to_have_attribute("aria-pressed", "true")
    movie.click()
    expect(movie).to_have_attribute("aria-pressed", "false")


def test_a_raw_has_a_placeholder_in_the_gallery(context, server, ids):
    cam = ids["ip"]
    fmt = server.api("GET", f"cameras/{cam}/properties/file-format")
    raw = [v["value"] for v in fmt["settable"] if v["display"] == "RAW"]
    assert raw, fmt
    server.api("PUT", f"cameras/{cam}/properties/file-format", {"value": raw[0]})
    try:
        page = open_page(context, server, cam)
        before = set(gallery_names(page))
        page.click("#btn-shutter")
        page.wait_for_function(
            "n => document.querySelectorAll('.gallery-item').length > n", arg=len(before)
        )
        new = [n for n in gallery_names(page) if n not in before]
        assert new and all(n.upper().endswith(".ARW") for n in new), new
        item = page.locator(f'.gallery-item[data-name="{new[0]}"]')
        # The contract asks for a placeholder, not for an <img>: an element with role img.
        expect(item.locator("img, [role=img]")).to_have_count(1)
        expect(item.locator("a.download")).to_have_attribute("download", new[0])
    finally:
        server.api("PUT", f"cameras/{cam}/properties/file-format", {"value": fmt["current"]})


def test_a_running_job_is_stopped_from_the_page(context, server, ids):
    cam = ids["sim"]
    page = open_page(context, server, cam)
    page.fill("#interval-count", "10")
    page.fill("#interval-seconds", "5")
    page.click("#btn-interval")
    job = page.locator("#job")
    expect(job).to_have_attribute("data-state", "running")
    with page.expect_request(lambda r: r.method == "DELETE" and "/jobs/" in r.url):
        page.click("#btn-job-stop")
    expect(job).to_have_attribute("data-state", "stopped")
    jobs = server.api("GET", f"cameras/{cam}/jobs")["jobs"]
    assert not [j for j in jobs if j["state"] in ("queued", "running")], jobs


@pytest.mark.allow_console("status of 409")
def test_an_api_error_is_shown_as_a_message(context, server, ids):
    page = open_page(context, server, ids["sim"])
    text = "the camera is busy: try again in a moment (a refusal made by the test)"
    # The server's own refusals are hard to provoke on purpose from the page; this one is
    # answered in the API's error shape by the test, on the way.
    page.route(
        "**/api/v1/cameras/*/capture",
        lambda route: route.fulfill(
            status=409, content_type="application/json",
            body='{"error": {"code": "busy", "message": "%s"}}' % text,
        ),
    )
    page.click("#btn-shutter")
    last = page.locator("#messages .message").last
    expect(last).to_have_text(text)


def test_two_pages_stay_in_sync(context, server, ids):
    cam = ids["ip"]
    a = open_page(context, server, cam)
    b = open_page(context, server, cam)
    raw, display = other_iso(server, cam)
    a.bring_to_front()
    set_iso_in_page(a, raw)
    expect(b.locator(ISO)).to_have_attribute("data-current", display)
    expect(b.locator(ISO)).to_have_value(str(raw))
    expect(a.locator(ISO)).to_have_attribute("data-current", display)


# Every element the page's contract names, by id.
CONTRACT_IDS = [
    "camera-select", "conn", "battery", "pending", "exposure", "exposure-progress", "login-help",
    "messages", "lv", "lv-canvas", "lv-overlay", "lv-toggle", "focus-state", "grid", "aspect",
    "loupe", "clipping", "histogram", "histogram-mode", "settings", "shoot", "btn-af",
    "btn-shutter", "bulb-seconds", "btn-bulb", "burst-count", "btn-burst", "interval-count",
    "interval-seconds", "btn-interval", "job", "job-progress", "btn-job-stop", "focus-near-7",
    "focus-near-3", "focus-near-1", "focus-far-1", "focus-far-3", "focus-far-7", "btn-movie",
    "btn-release", "gallery", "btn-help", "help",
]
# The settings by group, and the choices of the view's own selects.
CONTRACT_GROUPS = {
    "exposure": ["mode", "shutter", "aperture", "iso", "ev"],
    "focus": ["focus-mode", "focus-area"],
    "drive": ["drive"],
    "quality": ["file-format", "quality"],
    "wb": ["wb"],
}
CONTRACT_CHOICES = {
    "grid": ["none", "thirds", "centre"],
    "aspect": ["none", "1:1", "4:3", "3:2", "16:9", "65:24"],
    "histogram-mode": ["luma", "rgb"],
}


def test_page_has_the_contracts_elements(context, server, ids):
    cam = ids["ip"]
    page = open_page(context, server, cam)
    missing = [i for i in CONTRACT_IDS if page.locator(f"#{i}").count() != 1]
    assert missing == [], f"ids missing (or not unique): {missing}"
    for tag, sel in [("SELECT", "#camera-select"), ("PROGRESS", "#exposure-progress"),
                     ("PROGRESS", "#job-progress"), ("CANVAS", "#histogram"),
                     ("SELECT", "#grid"), ("SELECT", "#aspect"), ("SELECT", "#histogram-mode")]:
        assert page.eval_on_selector(sel, "e => e.tagName") == tag, sel
    expect(page.locator("#messages")).to_have_attribute("role", "status")
    for sel, values in CONTRACT_CHOICES.items():
        got = page.eval_on_selector_all(f"#{sel} option", "os => os.map(o => o.value)")
        assert sorted(got) == sorted(values), (sel, got)
    for group, aliases in CONTRACT_GROUPS.items():
        for alias in aliases:
            field = page.locator(f'#settings fieldset[data-group="{group}"] select[data-prop="{alias}"]')
            expect(field).to_have_count(1)
    # Each setting offers exactly what the camera says is settable now, current value selected.
    for alias in ["shutter", "aperture", "iso", "ev", "focus-mode", "wb"]:
        prop = server.api("GET", f"cameras/{cam}/properties/{alias}")
        sel = page.locator(f"select[data-prop={alias}]")
        expect(sel).to_have_attribute("data-current", prop["display"])
        expect(sel).to_have_value(str(prop["current"]))
        offered = sel.evaluate("s => [...s.options].map(o => [o.value, o.textContent.trim()])")
        settable = [[str(v["value"]), v["display"]] for v in prop["settable"]]
        extra = [o for o in offered if o not in settable and o[0] != str(prop["current"])]
        absent = [v for v in settable if v not in offered]
        assert extra == [] and absent == [], f"{alias}: offered {extra} not settable, {absent} missing"
        if prop["writable"]:
            expect(sel).to_be_enabled()
        else:
            expect(sel).to_be_disabled()
    # The user's pause of the live view.
    toggle = page.locator("#lv-toggle")
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.locator(LV)).to_have_attribute("data-state", "paused")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")


def test_a_focused_setting_waits_until_the_user_leaves_it(context, server, ids, sim):
    cam = ids["ip"]
    prop = server.api("GET", f"cameras/{cam}/properties/iso")
    before = prop["display"]
    page = open_page(context, server, cam)
    watcher = open_page(context, server, cam)
    target = next(d for d in ("1250", "2500", "5000") if d != before)
    expect(page.locator(ISO)).to_have_attribute("data-current", before)
    page.bring_to_front()
    page.locator(ISO).focus()
    sim.act(f"set iso {target}")
    # The other page got the event; this one had it too: it marks the field's update as
    # waiting for the user, and keeps the field as it is.
    expect(watcher.locator(ISO)).to_have_attribute("data-current", target)
    expect(page.locator(ISO)).to_have_attribute("data-pending", "true")
    assert page.evaluate("document.activeElement.dataset.prop") == "iso"
    assert page.locator(ISO).get_attribute("data-current") == before
    take_focus_away(page)
    expect(page.locator(ISO)).to_have_attribute("data-current", target)
    expect(page.locator(ISO)).not_to_have_attribute("data-pending", "true")


@pytest.mark.parametrize("width", [360, 390, 430])
def test_phone_sized_layout_fits(new_context, server, ids, shots, width):
    ctx = new_context(
        viewport={"width": width, "height": 844}, device_scale_factor=2, is_mobile=True,
        has_touch=True,
    )
    page = open_page(ctx, server, ids["ip"])
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    wait_frame_after(page, 0)
    scroll = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], f"sideways scrolling: scrollWidth {scroll[0]} > {scroll[1]}"
    # Grid and mask selects tell themselves apart without their (hidden) labels.
    names = [page.locator(s).get_attribute("aria-label") for s in ("#grid", "#aspect")]
    shown = [page.locator(s).evaluate("s => s.selectedOptions[0].textContent")
             for s in ("#grid", "#aspect")]
    assert all(names) and names[0] != names[1], names
    assert shown[0] != shown[1], shown
    small = []
    for sel in ["#btn-shutter", "#btn-af", "#lv-toggle", "#btn-help", "#btn-release",
                "#btn-movie", "#btn-bulb", "#focus-near-1", "#focus-far-1",
                "#camera-select", ISO]:
        el = page.locator(sel)
        el.scroll_into_view_if_needed()
        box = el.bounding_box()
        if box is None or box["width"] < 40 or box["height"] < 40:
            small.append((sel, box and (round(box["width"]), round(box["height"]))))
    page.evaluate("() => window.scrollTo(0, 0)")
    if width == 390:
        # One image pixel per CSS pixel: small enough for the README.
        page.screenshot(path=str(shots / "phone.png"), scale="css")
        page.screenshot(path=str(shots / "phone-full.png"), full_page=True, scale="css")
    assert small == [], f"touch targets under 40x40 px: {small}"


def hide(context, page):
    """Makes `page` hidden, saying how: for real (another page of the context in front) when
    the browser reports that, else by redefining `document.visibilityState` and sending
    `visibilitychange`. Headless chromium keeps every page `visible` (the other page in
    front, a minimized window and CDP's Page.setWebLifecycleState all leave it so)."""
    other = context.new_page()
    other.bring_to_front()
    if page.evaluate("document.visibilityState") == "hidden":
        return "real", other
    page.evaluate(
        """() => {
            Object.defineProperty(document, 'visibilityState',
                                  {configurable: true, get: () => 'hidden'});
            Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
            document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    assert page.evaluate("document.visibilityState") == "hidden"
    return "redefined", other


def show(page, how, other):
    other.close()
    page.bring_to_front()
    if how == "redefined":
        page.evaluate(
            """() => {
                delete document.visibilityState;
                delete document.hidden;
                document.dispatchEvent(new Event('visibilitychange'));
            }"""
        )
    assert page.evaluate("document.visibilityState") == "visible"


def test_hidden_page_stops_its_live_view(context, server, ids, watch):
    cam = ids["ip"]
    page = open_page(context, server, cam)
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    wait_frame_after(page, 0)
    poll(page, lambda: len(watch.streams(cam)) == 1, "one live-view stream open")
    how, other = hide(context, page)
    NOTES.append(f"hidden page: {how} (document.visibilityState)")
    expect(page.locator(LV)).to_have_attribute("data-state", "paused")
    poll(page, lambda: watch.streams() == [], f"no live-view stream open (open: {watch.streams()})")
    closed = len(watch.closed_streams)
    assert closed >= 1
    show(page, how, other)
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    poll(page, lambda: len(watch.streams(cam)) == 1, "the live-view stream open again")
    wait_frame_after(page, frame(page))


def test_camera_switcher_switches_the_live_view(context, server, ids, watch):
    page = open_page(context, server, ids["ip"])
    options = page.eval_on_selector_all("#camera-select option", "os => os.map(o => o.value)")
    assert sorted(options) == sorted(ids.values()), options
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    poll(page, lambda: len(watch.streams(ids["ip"])) == 1, "the ILCE-7SM3's live view open")
    page.select_option("#camera-select", ids["sim"])
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    poll(page, lambda: watch.streams(ids["ip"]) == [], "the ILCE-7SM3's live view closed")
    poll(page, lambda: len(watch.streams(ids["sim"])) == 1, "the ILCE-6000's live view open")
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    # The picture comes from the new stream: frames go on.
    page.wait_for_function(
        "() => Number(document.querySelector('#lv').dataset.frame) >= 0"
    )
    wait_frame_after(page, frame(page))
    assert watch.streams() == watch.streams(ids["sim"])
    # The events stream follows too: only the new camera's is open.
    poll(page, lambda: watch.streams(ids["ip"], kind="/events") == [], "the old events closed")
    assert len(watch.streams(ids["sim"], kind="/events")) == 1, watch.streams(kind="")


@pytest.mark.allow_console("status of 401")
def test_token_flow(new_context, token_server):
    s = token_server
    ctx = new_context()
    page = ctx.new_page()
    r = page.goto(s.origin + "/")
    assert r is not None and r.status == 401
    expect(page.locator("body")).to_contain_text("?token=")
    r = page.goto(f"{s.origin}/?token={s.token}")
    assert r is not None and r.status == 200
    assert page.url == s.origin + "/", page.url
    assert "token" not in page.url
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(page.locator("#login-help")).to_be_hidden()
    expect(page.locator("#camera-select option")).to_have_count(2)
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    # A new page of the same browser opens / without the token.
    second = ctx.new_page()
    r = second.goto(s.origin + "/")
    assert r is not None and r.status == 200
    expect(second.locator("#conn")).to_have_attribute("data-state", "connected")
    cam = second.locator("#camera-select").input_value()
    iso = s.api("GET", f"cameras/{cam}/properties/iso")
    expect(second.locator(ISO)).to_have_attribute("data-current", iso["display"])
    expect(second.locator(LV)).to_have_attribute("data-state", "playing")
    wait_frame_after(second, 0)


@pytest.mark.allow_console("status of 401")
def test_token_lost_shows_login_help(new_context, token_server):
    """The API answering 401 to the page's own requests shows #login-help. (Chromium holds a
    request answered 401 with a `WWW-Authenticate: Basic` challenge for its password dialog.)"""
    s = token_server
    ctx = new_context()
    page = ctx.new_page()
    page.goto(f"{s.origin}/?token={s.token}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(page.locator("#login-help")).to_be_hidden()
    ctx.clear_cookies()
    # Switching the camera opens new streams, now refused.
    other = [v for v in page.eval_on_selector_all("#camera-select option",
                                                  "os => os.map(o => o.value)")
             if v != page.locator("#camera-select").input_value()]
    page.select_option("#camera-select", other[0])
    expect(page.locator("#conn")).to_have_attribute("data-state", "unauthorized")
    expect(page.locator("#login-help")).to_be_visible()


@pytest.mark.allow_console("status of 503")
def test_lost_camera_is_shown_and_recovered_without_reload(context, server, ids, sim):
    page = open_page(context, server, ids["ip"])
    track_conn(page)
    sim.act("unplug")
    # The simulated camera comes back at once: the server reconnects to it.
    wait_conn_sequence(page, "disconnected", "connected", timeout_ms=40_000)
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    wait_frame_after(page, frame(page))


@pytest.mark.allow_console("ERR_CONNECTION_REFUSED", "ERR_EMPTY_RESPONSE",
                           "ERR_CONNECTION_RESET", "ERR_INCOMPLETE_CHUNKED_ENCODING")
def test_server_gone_is_shown_and_recovered_without_reload(new_context, work):
    port = free_port()
    args = ["--camera", "sim:ilce-6000", "--listen", f"127.0.0.1:{port}"]
    first = Server("serve-fixed", args, work)
    second = None
    ctx = new_context()
    try:
        cam = first.camera("ILCE-6000")
        page = open_page(ctx, first, cam)
        track_conn(page)
        first.stop()
        expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
        second = Server("serve-fixed-again", args, work)
        assert second.origin == first.origin
        wait_conn_sequence(page, "offline", "connected", timeout_ms=40_000)
        expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    finally:
        ctx.close()  # before the servers go: their streams' ends are no error of the page
        first.stop()
        if second:
            second.stop()


def test_keyboard_help_and_space_shutter(context, server, ids):
    page = open_page(context, server, ids["sim"])
    help_box = page.locator("#help")
    expect(help_box).to_be_hidden()
    take_focus_away(page)
    page.keyboard.press("?")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("space", ignore_case=True)
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()
    before = len(gallery_names(page))
    take_focus_away(page)
    page.keyboard.press(" ")
    page.wait_for_function(
        "n => document.querySelectorAll('.gallery-item').length > n", arg=before
    )


def test_keyboard_toggles_and_inputs_keep_their_keys(context, server, ids):
    page = open_page(context, server, ids["sim"])
    lv = page.locator(LV)
    expect(lv).to_have_attribute("data-state", "playing")
    # Typed into a number input, the keys are the input's.
    page.fill("#bulb-seconds", "")
    page.focus("#bulb-seconds")
    page.keyboard.type("l2")
    expect(page.locator("#bulb-seconds")).to_have_value("2")
    expect(lv).to_have_attribute("data-state", "playing")
    take_focus_away(page)
    page.keyboard.press("l")
    expect(lv).to_have_attribute("data-state", "paused")
    expect(page.locator("#lv-toggle")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("l")
    expect(lv).to_have_attribute("data-state", "playing")
    grid = page.locator("#grid")
    first = grid.input_value()
    page.keyboard.press("g")
    expect(grid).not_to_have_value(first)
    for key, sel in [("c", "#clipping"), ("z", "#loupe")]:
        was = page.locator(sel).get_attribute("aria-pressed")
        page.keyboard.press(key)
        expect(page.locator(sel)).not_to_have_attribute("aria-pressed", was or "")


class Held:
    """Replies to requests matching `match`, fetched from the server when the request is made
    (so they say what was true then) and handed to the page only when the test says so."""

    def __init__(self, page, pattern, match):
        self.replies = []
        self.page = page

        def hold(route):
            if not match(route.request):
                route.fallback()
                return
            self.replies.append((route, route.fetch()))

        page.route(pattern, hold)

    def wait(self, n, what):
        poll(self.page, lambda: len(self.replies) >= n, f"{n} {what} held")

    def release(self, i):
        route, reply = self.replies[i]
        route.fulfill(response=reply)


def loads(page, selector):
    return loads_of(page, selector, "data-loads")


def loads_of(page, selector, attribute):
    return int(page.locator(selector).get_attribute(attribute) or 0)


def test_an_older_properties_reply_does_not_undo_a_newer_event(context, server, ids, sim):
    cam = ids["ip"]
    raw, first = other_iso(server, cam, avoid=("3200",))
    page = open_page(context, server, cam)
    take_focus_away(page)
    expect(page.locator(f"{ISO} option").first).to_be_attached()
    held = Held(page, "**/properties",
                lambda r: r.method == "GET" and r.url.endswith("/properties"))
    # Each owner's change makes the page re-read the list: two reads, each answered with
    # the ISO of its moment.
    sim.act(f"set iso {first}")
    held.wait(1, "list read")
    sim.act("set iso 3200")
    expect(page.locator(ISO)).to_have_attribute("data-current", "3200")
    held.wait(2, "list reads")
    before = loads(page, "#settings")
    # The newer reply first, then the older: the older must not win.
    held.release(1)
    held.release(0)
    poll(page, lambda: loads(page, "#settings") >= before + 2, "both replies handled")
    expect(page.locator(ISO)).to_have_attribute("data-current", "3200")
    expect(page.locator(ISO)).to_have_value("3200")


def test_an_older_image_list_does_not_remove_a_newer_capture(context, server, ids):
    cam = ids["sim"]
    page = context.new_page()
    held = Held(page, "**/images", lambda r: r.method == "GET" and r.url.endswith("/images"))
    page.goto(server.origin + "/")
    expect(page.locator("#camera-select option")).not_to_have_count(0)
    if page.locator("#camera-select").input_value() != cam:
        page.select_option("#camera-select", cam)
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    # The list the page asked for on opening is held; a picture is taken meanwhile.
    poll(page, lambda: any(f"/{cam}/" in r.request.url for r, _ in held.replies),
         "the camera's image list held")
    n = len(held.replies)
    before = set(gallery_names(page))
    page.click("#btn-shutter")
    page.wait_for_function(
        "n => document.querySelectorAll('.gallery-item').length > n", arg=len(before)
    )
    new = [x for x in gallery_names(page) if x not in before]
    done = loads(page, "#gallery")
    for i in range(n):
        held.release(i)
    poll(page, lambda: loads(page, "#gallery") >= done + 1, "the held list handled")
    assert all(x in gallery_names(page) for x in new), (new, gallery_names(page))
    page.unroute("**/images")


def test_a_job_state_never_goes_back(context, server, ids):
    page = open_page(context, server, ids["sim"])
    record_states(page, "#job", "__job")
    # The reply to the POST that starts the job comes after the job's own events.
    held = Held(page, "**/capture", lambda r: r.method == "POST")
    page.fill("#burst-count", "1")
    page.click("#btn-burst")
    held.wait(1, "capture reply")
    expect(page.locator("#job")).to_have_attribute("data-state", "running")
    held.release(0)
    expect(page.locator("#job")).to_have_attribute("data-state", "done")
    seen = [x for x in page.evaluate("window.__job") if x not in (None, "none")]
    order = ["queued", "running", "done"]
    ranks = [order.index(x) for x in seen if x in order]
    assert ranks == sorted(ranks), f"#job went through {seen}"
    expect(page.locator("#job-text")).to_contain_text("Burst")


def test_help_open_takes_no_shortcut(context, server, ids):
    page = open_page(context, server, ids["sim"])
    captures = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith("/capture")
            and captures.append(r.url))
    grid = page.locator("#grid").input_value()
    take_focus_away(page)
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help-close")).to_be_focused()
    for key in ["b", "l", "g", "r"]:
        page.keyboard.press(key)
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    expect(page.locator("#btn-help")).to_be_focused()
    # Space with the help open presses its focused Close button: it closes, no picture.
    page.keyboard.press("?")
    expect(page.locator("#help-close")).to_be_focused()
    page.keyboard.press(" ")
    expect(page.locator("#help")).to_be_hidden()
    expect(page.locator("#btn-help")).to_be_focused()
    take_focus_away(page)
    # A request after the keys: any capture they had asked for would have gone before it.
    with page.expect_request(lambda r: r.url.endswith("/af")):
        page.keyboard.press("f")
    assert captures == [], captures
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    assert page.locator("#grid").input_value() == grid


def iso_puts(page):
    """The values of the page's `PUT …/properties/iso` requests, as they are made."""
    puts = []
    page.on("request", lambda r: r.method == "PUT" and "/properties/iso" in r.url
            and puts.append(r.post_data_json["value"]))
    return puts


def iso_options(iso):
    return iso.evaluate("s => [...s.options].filter(o => !o.disabled).map(o => o.value)")


def test_keyboard_choice_in_a_setting_is_sent_once_on_enter_and_keeps_focus(context, server, ids):
    cam = ids["ip"]
    page = open_page(context, server, cam)
    # The keys' rest would send a choice between two presses slower than it: made long here,
    # only Enter sends.
    page.evaluate("() => { window.__sonyctlTimings = { keysIdleMs: 600000 }; }")
    iso = page.locator(ISO)
    expect(iso).to_be_enabled()
    puts = iso_puts(page)
    options = iso_options(iso)
    start = iso.input_value()
    at = options.index(start) if start in options else 0
    steps = 3 if at + 3 < len(options) else -3
    key = "ArrowDown" if steps > 0 else "ArrowUp"
    want = options[at + steps]
    iso.focus()
    for _ in range(abs(steps)):
        page.keyboard.press(key)
    expect(iso).to_have_value(want)
    assert puts == [], puts
    with page.expect_response(lambda r: r.request.method == "PUT"):
        page.keyboard.press("Enter")
    assert puts == [int(want)], puts
    expect(iso).to_be_focused()
    expect(iso).to_be_enabled()
    poll(page, lambda: str(server.api("GET", f"cameras/{cam}/properties/iso")["current"]) == want,
         "the camera has the chosen ISO")
    assert puts == [int(want)], puts


def test_keyboard_choice_in_a_setting_is_sent_when_the_keys_rest(context, server, ids):
    cam = ids["ip"]
    page = open_page(context, server, cam)
    iso = page.locator(ISO)
    expect(iso).to_be_enabled()
    puts = iso_puts(page)
    options = iso_options(iso)
    start = iso.input_value()
    at = options.index(start) if start in options else 0
    key, want = ("ArrowDown", options[at + 1]) if at + 1 < len(options) else ("ArrowUp", options[at - 1])
    iso.focus()
    # One press: one choice, sent once the keys rest (600 ms), however slow the machine.
    with page.expect_response(lambda r: r.request.method == "PUT", timeout=EXPECT_MS):
        page.keyboard.press(key)
    assert puts == [int(want)], puts
    expect(iso).to_be_focused()
    poll(page, lambda: str(server.api("GET", f"cameras/{cam}/properties/iso")["current"]) == want,
         "the camera has the chosen ISO")
    # Well past another rest: nothing more is sent.
    page.wait_for_timeout(2000)
    assert puts == [int(want)], puts


def test_a_recording_movie_shows_after_a_reload_and_stops(context, server, ids):
    cam = ids["sim"]
    server.api("POST", f"cameras/{cam}/movie", {"record": True})
    try:
        page = open_page(context, server, cam)
        movie = page.locator("#btn-movie")
        expect(movie).to_have_attribute("aria-pressed", "true")
        movie.click()
        expect(movie).to_have_attribute("aria-pressed", "false")
        poll(page, lambda: server.api("GET", f"cameras/{cam}/properties/movie")["current"] == 0,
             "the camera stopped recording")
        # Started elsewhere (a script), the page follows the camera's event.
        server.api("POST", f"cameras/{cam}/movie", {"record": True})
        expect(movie).to_have_attribute("aria-pressed", "true")
    finally:
        server.api("POST", f"cameras/{cam}/movie", {"record": False})


STALLING_LIVE_VIEW = r"""
(() => {
  const real = window.fetch.bind(window);
  let first = true;
  window.fetch = (input, init) => {
    const u = String(input instanceof Request ? input.url : input);
    if (first && u.endsWith('/liveview.mjpg')) {
      first = false;
      // One part, then silence with the connection open: a stream that died unseen.
      const part = new TextEncoder().encode(
        '--frame\r\nContent-Type: image/jpeg\r\nX-Frame-Number: 1\r\n' +
        'Content-Length: 2\r\n\r\nxx\r\n');
      const body = new ReadableStream({ start(c) { c.enqueue(part); } });
      return Promise.resolve(new Response(body, { headers: {
        'Content-Type': 'multipart/x-mixed-replace; boundary=frame' } }));
    }
    return real(input, init);
  };
})();
"""


def test_a_silent_live_view_is_reopened(context, server, ids):
    page = context.new_page()
    page.add_init_script(STALLING_LIVE_VIEW)
    page.goto(server.origin + "/")
    expect(page.locator("#camera-select option")).not_to_have_count(0)
    # The first stream says one thing and goes quiet; the watchdog replaces it.
    expect(page.locator(LV)).to_have_attribute("data-stalls", "1")
    expect(page.locator(LV)).to_have_attribute("data-state", "playing")
    wait_frame_after(page, 1)


SILENT_FIRST_EVENTS = r"""
(() => {
  // The page's event watchdog made short (1.5 s), and its first stream silent though open:
  // its events never reach the page, as on a connection that died unseen. The page's reads
  // of the settings made after that stream closed are counted in `window.__readsAfter`.
  window.__sonyctlTimings = { silentMs: 1500 };
  const Real = window.EventSource;
  window.__sources = [];
  window.__readsAfter = 0;
  window.EventSource = class extends Real {
    constructor(...args) {
      super(...args);
      this.silent = window.__sources.length === 0;
      this.opened = performance.now();
      this.closedAfter = null;
      window.__sources.push(this);
    }
    addEventListener(name, fn, options) {
      return super.addEventListener(name, (ev) => { if (!this.silent) fn(ev); }, options);
    }
    close() {
      if (this.closedAfter === null) this.closedAfter = performance.now() - this.opened;
      super.close();
    }
  };
  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const u = String(input instanceof Request ? input.url : input);
    if (u.endsWith('/properties') && window.__sources[0]?.closedAfter != null) {
      window.__readsAfter += 1;
    }
    return realFetch(input, init);
  };
})();
"""


def test_a_silent_event_stream_is_reopened_and_the_page_reads_again(context, server, ids):
    page = context.new_page()
    page.add_init_script(SILENT_FIRST_EVENTS)
    page.goto(server.origin + "/")
    expect(page.locator("#camera-select option")).not_to_have_count(0)
    page.wait_for_function(
        "() => window.__sources.length >= 2 && window.__sources[0].closedAfter !== null"
    )
    closed_after = page.evaluate("() => window.__sources[0].closedAfter")
    # Replaced only once silent for the watchdog's time; the new stream's open reads
    # everything again.
    assert closed_after >= 1500, closed_after
    page.wait_for_function("() => window.__readsAfter >= 1")
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")


HOLDING_EVENTS = r"""
(() => {
  // The page's event streams, with a door the test controls: while `window.__holdEvent(name,
  // data)` answers true, an event is kept back in `window.__heldEvents`;
  // `window.__releaseEvents()` hands them over in order.
  const Real = window.EventSource;
  window.__holdEvent = null;
  window.__heldEvents = [];
  window.__releaseEvents = () => {
    window.__holdEvent = null;
    for (const give of window.__heldEvents.splice(0)) give();
  };
  window.EventSource = class extends Real {
    addEventListener(name, fn, options) {
      return super.addEventListener(name, (ev) => {
        let data = null;
        try { data = JSON.parse(ev.data); } catch { /* the page's to judge */ }
        if (window.__holdEvent && window.__holdEvent(name, data)) {
          window.__heldEvents.push(() => fn(ev));
        } else {
          fn(ev);
        }
      }, options);
    }
  };
})();
"""


def status_loads(page):
    return loads(page, "#statusbar")


@pytest.mark.allow_console("status of 503")
def test_a_status_read_overtaken_by_an_unplug_does_not_show_connected(context, server, ids, sim):
    cam = ids["ip"]
    page = context.new_page()
    page.add_init_script(HOLDING_EVENTS)
    page.goto(server.origin + "/")
    expect(page.locator("#camera-select option")).not_to_have_count(0)
    if page.locator("#camera-select").input_value() != ids["sim"]:
        page.select_option("#camera-select", ids["sim"])
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    # From now on the stream tells only of a lost camera: anything saying it is connected
    # waits, so that nothing but the held reply below can say so.
    page.evaluate(
        """() => { window.__holdEvent = (name, d) =>
                     ['status', 'connection', 'lagged'].includes(name) &&
                     (d?.connected === true || d?.status?.connected === true); }"""
    )
    path = f"/api/v1/cameras/{cam}"
    held = Held(page, "**/api/v1/cameras/**",
                lambda r: r.method == "GET" and urlparse(r.url).path == path)
    # Choosing the camera opens its stream, whose open re-reads the status: that read's
    # reply (the camera connected) is held.
    page.select_option("#camera-select", cam)
    held.wait(1, "status read")
    sim.act("unplug")
    expect(page.locator("#conn")).to_have_attribute("data-state", "disconnected",
                                                    timeout=40_000)
    before = status_loads(page)
    held.release(0)
    poll(page, lambda: status_loads(page) >= before + 1, "the held status reply handled")
    expect(page.locator("#conn")).to_have_attribute("data-state", "disconnected")
    # The news kept back (the camera back) still makes it connected.
    page.unroute("**/api/v1/cameras/**")
    page.evaluate("() => window.__releaseEvents()")
    poll(page, lambda: server.api("GET", f"cameras/{cam}")["status"]["connected"],
         "the camera reconnected", timeout_ms=40_000)
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")


def test_an_older_write_reply_does_not_undo_a_newer_choice(context, server, ids):
    cam = ids["ip"]
    page = context.new_page()
    page.add_init_script(HOLDING_EVENTS)
    page.goto(server.origin + "/")
    expect(page.locator("#camera-select option")).not_to_have_count(0)
    if page.locator("#camera-select").input_value() != cam:
        page.select_option("#camera-select", cam)
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(page.locator(ISO)).to_be_enabled()
    first, _ = other_iso(server, cam)
    second, second_display = other_iso(server, cam, avoid=(
        next(s["display"] for s in server.api("GET", f"cameras/{cam}/properties/iso")["settable"]
             if s["value"] == first),))
    # Only the two writes' replies tell the page what the camera did: the events saying so,
    # and the list re-reads, wait.
    page.evaluate("() => { window.__holdEvent = (name) => name === 'property'; }")
    lists = Held(page, "**/properties", lambda r: r.method == "GET")
    writes = Held(page, "**/properties/iso", lambda r: r.method == "PUT")
    page.select_option(ISO, str(first))
    writes.wait(1, "write")
    page.select_option(ISO, str(second))
    writes.wait(2, "writes")
    take_focus_away(page)
    before = loads_of(page, "#settings", "data-writes")
    # The newer write's reply first, then the older: the older must not win.
    writes.release(1)
    writes.release(0)
    poll(page, lambda: loads_of(page, "#settings", "data-writes") >= before + 2,
         "both write replies handled")
    expect(page.locator(ISO)).to_have_attribute("data-current", second_display)
    expect(page.locator(ISO)).to_have_value(str(second))
    assert server.api("GET", f"cameras/{cam}/properties/iso")["current"] == second
    page.unroute("**/properties")
    for i in range(len(lists.replies)):
        lists.release(i)
    page.evaluate("() => window.__releaseEvents()")
    expect(page.locator(ISO)).to_have_attribute("data-current", second_display)


@pytest.fixture(autouse=True)
def _server_still_running(request):
    """A test that took a server down says so, instead of the tests after it failing."""
    yield
    for name in ("server", "sim"):
        if name in request.fixturenames:
            proc = request.getfixturevalue(name)
            assert proc.proc.poll() is None, f"{name} ended: {proc.stderr()}"
