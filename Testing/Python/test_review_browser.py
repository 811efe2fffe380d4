"""`deepmir review` end to end in a real headless browser (Debian Chromium driven by selenium).

The reading workflow on a small simulated participant: open, detect (cancel once first),
check the overlay's colours on screen, delete a microbleed with the keyboard, paint an iron
deposit where it was with Slicer's Paint effect, approve; then read the training set and
check that the final label map is exactly that edit of the model's output. Also: a server
bound to a non-loopback address refuses requests without its token.

Skipped, naming what is missing, without the web extra, Chromium or ChromeDriver, unless
DEEPMIR_REQUIRE_BROWSER=1 (CI). Screenshots go to $DEEPMIR_SCREENSHOTS or the test's folder.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from review_helpers import Page, ReviewServer, centre_box, chromium_driver, colour_fraction, is_blank, need_browser, need_web_extra, save_png

from DeepMIRLib.classes import CMB, IRON
from DeepMIRLib.datastore import Datastore
from DeepMIRLib.lesions import label_components
from DeepMIRLib.volumes import read_volume

SWI_VIEW = "SWI_axial"


@pytest.fixture(scope="session")
def web_ready() -> None:
    """Skip (or fail) before the simulated cohort is made, when the web extra is missing."""
    need_web_extra()


@pytest.fixture(scope="session")
def browser_ready(web_ready) -> None:
    need_browser()


@pytest.fixture()
def screenshots(tmp_path) -> Path:
    return Path(os.environ.get("DEEPMIR_SCREENSHOTS", tmp_path / "screenshots"))


@pytest.fixture()
def two_cases(slab_cohort, tmp_path) -> Path:
    """Two participants of the slab cohort (copies: the server opens nothing outside its folder),
    so approving the first opens the second."""
    cohort = tmp_path / "cohort"
    for name in ("sim-41-0000", "sim-41-0001"):
        shutil.copytree(slab_cohort / name, cohort / name)
    return cohort


def wait_for_colour(page: Page, colour: str, what: str) -> np.ndarray:
    """The SWI view once its centre (where the selected lesion is) shows the segment colour."""
    def coloured():
        pixels = page.view_pixels(SWI_VIEW)
        return pixels if colour_fraction(centre_box(pixels, 24), colour) > 0.02 else None

    return page.wait(coloured, what, timeout=60)


def select_row(page: Page, index: int) -> dict:
    page.click(f"lesion-row-{index}")
    page.wait(lambda: page.state("selected") == index, f"lesion {index} selected")
    return page.state("lesions")[index]


def test_read_detect_delete_paint_approve_in_the_browser(browser_ready, two_cases, tmp_path, screenshots):
    trainingset = tmp_path / "trainingset"
    server = ReviewServer(two_cases.resolve(), trainingset)
    driver = chromium_driver(tmp_path / "chromium-profile")
    page = Page(driver)
    try:
        driver.get(server.url)
        page.wait(lambda: page.state("phase") == "open" and page.state("case_id") == "sim-41-0000", "the first case to open")
        page.wait(lambda: not is_blank(page.view_pixels(SWI_VIEW)), "the first SWI image")

        # run, cancel, run again: progress shows, cancel stops the worker and leaves no lesions
        page.click("run-detection")
        page.wait(lambda: page.state("phase") == "detecting", "the detection to start")
        page.click("run-detection")  # now 'Cancel'
        page.wait(lambda: page.state("phase") == "open" and "cancelled" in page.state("message"), "the cancel")
        assert page.state("lesions") == []
        page.click("run-detection")
        page.wait(lambda: page.state("phase") == "detected", "the detection", timeout=240)
        lesions = page.state("lesions")
        assert lesions and {row["label"] for row in lesions} == {CMB, IRON}, lesions
        assert all(row["second_stage_prob"] for row in lesions), lesions  # the default's classifiers decide both classes

        # a click on a row centres the views on the lesion; the overlay shows its class's colour there
        iron_row = select_row(page, next(row["index"] for row in lesions if row["label"] == IRON))
        save_png(wait_for_colour(page, "green", f"green at iron deposit {iron_row}"), screenshots / "review-iron-deposit.png")
        cmb_row = select_row(page, next(row["index"] for row in lesions if row["label"] == CMB))
        save_png(wait_for_colour(page, "red", f"red at microbleed {cmb_row}"), screenshots / "review-microbleed.png")
        save_png(driver.get_screenshot_as_png(), screenshots / "deepmir-review.png")

        # delete the selected microbleed with the keyboard
        page.press("d")
        page.wait(lambda: len(page.state("lesions")) == len(lesions) - 1, "the lesion to be deleted")

        # paint an iron deposit where it was: Paint effect, 3 mm brush, a click at the view's centre
        page.press("2")
        page.press("b")
        page.wait(lambda: page.state("tool") == "paint" and page.state("paint_label") == IRON, "the paint tool")
        brush_mm = page.state("brush_mm")
        image = page.view_image(SWI_VIEW)
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(driver).move_to_element(image).click().perform()
        page.wait(lambda: len(page.state("lesions")) == len(lesions), "the painted lesion in the table")
        page.press("q")  # the view has the focus: VTK's 'quit' key must not stop the server
        page.press("ESCAPE")
        page.wait(lambda: page.state("tool") == "none", "the paint tool to be put down")

        page.element("annotator").send_keys("reader-1")
        page.wait(lambda: page.state("annotator") == "reader-1", "the annotator name")
        page.click("approve")
        page.wait(lambda: page.state("case_id") == "sim-41-0001", "the next unread case after approval")
        statuses = {case["id"]: case for case in page.state("cases")}
        assert statuses["sim-41-0000"]["status"] == "approved" and statuses["sim-41-0000"]["annotator"] == "reader-1"
    finally:
        driver.quit()
        server.stop()

    entry = Datastore(trainingset).entry("sim-41-0000")
    assert (entry.version, entry.status, entry.annotator) == (1, "approved", "reader-1")
    assert entry.model["name"] and entry.original is not None
    original = read_volume(trainingset / entry.original.file, np.uint8)
    final = read_volume(trainingset / entry.final.file, np.uint8)
    assert np.array_equal(final.array, expected_edit(original, cmb_row["ras"], brush_mm))


def expected_edit(original, deleted_ras, brush_mm: float) -> np.ndarray:
    """The model's labels without the microbleed whose centroid is `deleted_ras`, plus an iron
    deposit painted on the axial slice of the voxel nearest that centroid: every voxel of
    that slice whose centre lies within the brush's radius of that voxel's centre."""
    lps = np.array([-deleted_ras[0], -deleted_ras[1], deleted_ras[2]])
    centre = np.round(original.lps_to_index(lps)).astype(int)  # (i, j, k)
    components, _ = label_components(original.array == CMB)
    deleted = components[centre[2], centre[1], centre[0]]
    assert deleted > 0, "the deleted microbleed covers the voxel nearest its centroid"
    expected = original.array.copy()
    expected[components == deleted] = 0
    spacing_i, spacing_j = original.spacing[0], original.spacing[1]
    j, i = np.mgrid[0:expected.shape[1], 0:expected.shape[2]]
    brush = ((i - centre[0]) * spacing_i) ** 2 + ((j - centre[1]) * spacing_j) ** 2 <= (brush_mm / 2) ** 2
    expected[centre[2]][brush] = IRON
    return expected


def test_a_request_without_the_token_is_refused_off_loopback(web_ready, two_cases, tmp_path):
    server = ReviewServer(two_cases.resolve(), tmp_path / "trainingset", "--host", "0.0.0.0")
    try:
        assert "token=" in server.url
        token = server.url.split("token=")[1]
        base = f"http://127.0.0.1:{server.port}/index.html"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base, timeout=30)
        assert refused.value.code == 403
        with pytest.raises(urllib.error.HTTPError) as wrong:
            urllib.request.urlopen(f"{base}?token=not-{token}", timeout=30)
        assert wrong.value.code == 403
        with urllib.request.urlopen(f"{base}?token={token}", timeout=30) as response:
            assert response.status == 200
            cookie = response.headers["Set-Cookie"].split(";")[0]
        request = urllib.request.Request(f"http://127.0.0.1:{server.port}/index.html", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    finally:
        server.stop()


def test_loopback_server_refuses_other_host_names_and_foreign_web_sockets(web_ready, two_cases, tmp_path):
    server = ReviewServer(two_cases.resolve(), tmp_path / "trainingset")
    try:
        assert "token" not in server.url and server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "index.html", timeout=30) as response:
            assert response.status == 200
        rebound = urllib.request.Request(server.url + "index.html", headers={"Host": f"attacker.example:{server.port}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(rebound, timeout=30)
        assert refused.value.code == 403
        foreign = urllib.request.Request(server.url + "ws", headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                                                     "Origin": "http://attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(foreign, timeout=30)
        assert refused.value.code == 403
    finally:
        server.stop()
