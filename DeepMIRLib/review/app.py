"""The reading station's web page: trame-slicer views, worklist, lesion table, Segment Editor effects.

Needs the web extra (`pip install DeepMIRLib[web]`: trame-slicer and the slicer-core wheel).
One server is one reading station: every browser tab connected to it shares its state
(trame's model), so each reader runs their own `deepmir review` (on their own port)
against the shared training set, whose saves are locked and versioned.

Everything the page does goes through `session.ReadingSession` (the case, the background
detection, the scene layer's edits, the datastore export); this module only wires the page
to it and to trame-slicer's views and segment editor. MRML and VTK are touched only in the
server's event-loop thread: the detection runs in the worker process and is polled.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from trame.app import TrameApp
from trame.widgets import client, html
from trame.widgets import vuetify3 as v3
from trame_server.utils.asynchronous import create_task
from trame_slicer import module as trame_slicer_module
from trame_slicer.app.ui import create_vertical_slice_view_gutter_ui, create_vertical_view_gutter_ui
from trame_slicer.core import LayoutManager, SlicerApp
from trame_slicer.rca_view import register_rca_factories
from trame_slicer.segmentation import BrushDiameterMode, SegmentationEffectErase, SegmentationEffectPaint
from trame_slicer.segmentation.segment_modifier import ModificationMode
from trame_slicer.views import Layout, LayoutDirection, ViewDirection, ViewLayoutDefinition, ViewProps, ViewType
from trame_vuetify.ui.vuetify3 import SinglePageWithDrawerLayout

from .. import scene
from ..classes import CMB, IRON
from ..errors import DeepMIRError
from ..lesions import least_sure_first, probability_text
from .session import WINDOW_PRESETS, ReadingSession
from .worklist import Case, case_statuses, next_unread, status_of

log = logging.getLogger(__name__)

LAYOUT_ID = "DeepMIR review"
POLL_SECONDS = 0.2
LESION_FIELD_OF_VIEW_MM = 48.0  # field of view of the slice views when centred on a lesion
DEFAULT_BRUSH_MM = 3.0

# The views: SWI, QSM and T2 side by side in axial, SWI in coronal and sagittal, and 3-D.
# All slice views are in view group 0, so jumping to a lesion moves them together.
VIEWS = {
    "SWI_axial": ("Axial", "SWI axial", "#F34A33", "swi"),
    "QSM_axial": ("Axial", "QSM axial", "#F34A33", "qsm"),
    "T2_axial": ("Axial", "T2 axial", "#F34A33", "t2"),
    "SWI_coronal": ("Coronal", "SWI coronal", "#6DAD4A", "swi"),
    "SWI_sagittal": ("Sagittal", "SWI sagittal", "#EFD64D", "swi"),
}
THREE_D_VIEW = "ThreeD"  # a JavaScript identifier: trame names state variables after it

# Keyboard shortcuts (ignored while typing in a text field); shown on the page.
SHORTCUTS = [
    ("n / ↓", "next lesion"), ("p / ↑", "previous lesion"), ("Delete / d", "delete the selected lesion"),
    ("r", "relabel the selected lesion (microbleed <-> iron)"), ("a", "approve and open the next unread case"),
    ("b", "paint"), ("e", "erase"), ("Esc", "stop painting / erasing"), ("1 / 2", "paint microbleed / iron deposit"),
    ("c / i", "show or hide microbleeds / iron deposits"), ("g", "run (or cancel) the detection"),
    ("] / [", "next / previous case"),
]
KEY_ACTIONS = {
    "n": "next_lesion", "ArrowDown": "next_lesion", "p": "previous_lesion", "ArrowUp": "previous_lesion",
    "Delete": "delete_selected", "Backspace": "delete_selected", "d": "delete_selected", "r": "relabel_selected",
    "a": "approve", "b": "paint", "e": "erase", "Escape": "no_tool", "1": "paint_cmb", "2": "paint_iron",
    "c": "toggle_cmb", "i": "toggle_iron", "g": "toggle_detection", "]": "next_case", "[": "previous_case",
}
# Listens in the capture phase, so a shortcut pressed while a view has the focus is the page's
# and is not also sent to the view's VTK interactor.
KEY_LISTENER = (
    "window.addEventListener('keydown', (event) => {"
    " const target = event.target;"
    " if (target && (['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || target.isContentEditable)) { return; }"
    " if (event.ctrlKey || event.metaKey || event.altKey) { return; }"
    f" if (!{sorted(KEY_ACTIONS)!r}.includes(event.key)) {{ return; }}"
    " event.preventDefault(); event.stopPropagation(); trigger('review_key', [event.key]); }, true)"
)


LEAST_SURE_FIRST = "least sure first"


def review_layout() -> Layout:
    def slice_view(tag: str) -> ViewLayoutDefinition:
        orientation, label, color, _ = VIEWS[tag]
        return ViewLayoutDefinition(tag, ViewType.SLICE_VIEW, ViewProps(orientation=orientation, label=label, color=color, group=0))

    three_d = ViewLayoutDefinition.threed_view(name=THREE_D_VIEW, label="3D")
    top = Layout(LayoutDirection.Horizontal, [slice_view("SWI_axial"), slice_view("QSM_axial"), slice_view("T2_axial")])
    bottom = Layout(LayoutDirection.Horizontal, [slice_view("SWI_coronal"), slice_view("SWI_sagittal"), three_d])
    return Layout(LayoutDirection.Vertical, [top, bottom])


def share_logics_with_scene_layer(slicer_app: SlicerApp) -> None:
    """Let the scene layer use trame-slicer's module logics, as it uses those of `scene.new_scene`
    (volumes read through a logic without the application's colour logic get no lookup table
    and show as noise), and load DeepMIR's terminology into its Terminologies logic."""
    slicer_app.scene._deepmir_logics = {
        "ApplicationLogic": slicer_app.app_logic, "Volumes": slicer_app.volumes_logic,
        "Segmentations": slicer_app.segmentations_logic, "Terminologies": slicer_app.terminologies_logic,
    }
    scene.load_terminology(slicer_app.terminologies_logic)


def keep_views_alive(views) -> None:
    """A key a view passes to VTK must not stop the server: VTK's interactor styles call the
    interactor's exit callback on 'e' and 'q', which terminates the application unless an
    ExitEvent observer takes the call."""
    from vtkmodules.vtkCommonCore import vtkCommand

    for view in views:
        view.interactor().AddObserver(vtkCommand.ExitEvent, lambda *_: None)


def link_slice_views(mrml_scene) -> None:
    """Scrolling or zooming one slice view moves the others of its orientation (Slicer's slice
    link logic, for composite nodes in linked control). Set after each view got its volume:
    the link follows the reader's interactions only, so the views keep their own modality."""
    nodes = mrml_scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
    for index in range(nodes.GetNumberOfItems()):
        nodes.GetItemAsObject(index).SetLinkedControl(True)


def reporting(handler):
    """Run a page handler; show a DeepMIR error (bad input, a refused save) on the page instead of failing."""
    @functools.wraps(handler)
    def wrapped(self, *args, **kwargs):
        try:
            return handler(self, *args, **kwargs)
        except DeepMIRError as err:
            self.state.error = str(err)
        except Exception as err:  # a bug: keep the server up, say what happened
            log.exception("review: %s failed", handler.__name__)
            self.state.error = f"{type(err).__name__}: {err}"
        return None

    return wrapped


class ReviewApp(TrameApp):
    """The reading station for one list of cases and one training set."""

    def __init__(self, cases: list[Case], datastore_root, model="default", device: str = "auto", server=None):
        super().__init__(server)
        self.server.enable_module(trame_slicer_module)
        self.cases = cases
        self.slicer_app = SlicerApp()
        share_logics_with_scene_layer(self.slicer_app)
        self.session = ReadingSession(self.slicer_app.scene, datastore_root, model, device)
        self.editor = self.slicer_app.segmentation_editor
        register_rca_factories(self.slicer_app.view_manager, self.server, slice_view_ui_f=self._slice_view_ui,
                               three_d_view_ui_f=self._three_d_view_ui)
        self.layout_manager = LayoutManager(self.slicer_app.scene, self.slicer_app.view_manager, self.server)
        self.layout_manager.register_layout(LAYOUT_ID, review_layout())
        self.layout_manager.set_layout(LAYOUT_ID)
        keep_views_alive(self.slicer_app.view_manager.get_views())
        self._refresh_pending = False
        self._init_state()
        self.editor.segmentation_modified.connect(self._on_segmentation_modified)
        self.server.trigger("review_key")(self.on_key)
        self._build_ui()

    # --- state --------------------------------------------------------------------------

    def _init_state(self) -> None:
        state = self.state
        state.trame__title = "DeepMIR review"
        state.update({
            "cases": [], "case_index": -1, "case_id": "", "phase": "empty", "progress": 0, "stage": "", "message": "",
            "error": "", "lesions": [], "selected": -1, "show_cmb": True, "show_iron": True, "opacity": 0.6,
            "tool": "none", "paint_label": CMB, "brush_mm": DEFAULT_BRUSH_MM, "window_preset": "auto",
            "annotator": "", "show_3d": True, "saved": [], "lesion_order": "position",
        })
        self._refresh_worklist()
        state.change("show_cmb", "show_iron")(self._on_visibility)
        state.change("opacity")(self._on_opacity)
        state.change("window_preset")(self._on_window_preset)
        state.change("tool", "paint_label", "brush_mm")(self._on_tool)
        state.change("show_3d")(self._on_show_3d)
        state.change("lesion_order")(lambda **_: self._refresh_lesion_rows())

    def _refresh_worklist(self) -> None:
        statuses = case_statuses(self.session.datastore_root)
        self.state.cases = [{"index": index, "id": case.case_id, **status_of(statuses, case.case_id)}
                            for index, case in enumerate(self.cases)]

    def _refresh_lesion_rows(self) -> None:
        rows = []
        for index, lesion in enumerate(self.session.lesions):
            r, a, s = lesion.centroid_ras
            rows.append({
                "index": index, "label": lesion.label, "cls": "CMB" if lesion.label == CMB else "Iron",
                "volume": f"{lesion.volume_mm3:.1f}", "prob": probability_text(lesion.prob_max),
                "second_stage_prob": probability_text(lesion.second_stage_prob),
                "location": f"{r:.1f}, {a:.1f}, {s:.1f}", "ras": [round(r, 3), round(a, 3), round(s, 3)],
            })
        if self.state.lesion_order == LEAST_SURE_FIRST:
            rows = [rows[k] for k in least_sure_first(self.session.lesions)]
        self.state.lesions = rows
        if self.state.selected >= len(rows):
            self.state.selected = len(rows) - 1

    # --- the page -----------------------------------------------------------------------

    def _build_ui(self) -> None:
        with SinglePageWithDrawerLayout(self.server, width=430) as layout:
            layout.title.set_text("DeepMIR review")
            client.ClientTriggers(mounted=KEY_LISTENER)
            client.ClientStateChange(value="selected", change="window.document.getElementById(`lesion-row-${selected}`)?.scrollIntoView({block: 'nearest'})")
            with layout.toolbar:
                self._toolbar()
            with layout.drawer:
                self._drawer()
            with layout.content:
                v3.VAlert(v_if="error", text=("error",), type="error", density="compact", closable=True, id="error",
                          click_close="error = ''", classes="ma-1")
                html.Div("{{ message }}", id="message", classes="text-caption px-2", style="height: 20px; overflow: hidden;")
                with html.Div(style="height: calc(100vh - 90px); width: 100%;"):
                    self.layout_manager.initialize_layout_grid(layout)
            layout.footer.hide()
        self.ui = layout

    def _toolbar(self) -> None:
        v3.VSpacer()
        html.Div("{{ case_id }}", id="case-title", classes="text-h6 mx-2")
        v3.VBtn("Previous", id="previous-case", click=self.previous_case, variant="text", disabled=("case_index <= 0",))
        v3.VBtn("Next", id="next-case", click=self.next_case, variant="text", disabled=("case_index >= cases.length - 1",))
        v3.VBtn("{{ phase === 'detecting' ? 'Cancel' : 'Run detection' }}", id="run-detection", click=self.toggle_detection,
                color=("phase === 'detecting' ? 'warning' : 'primary'",), variant="flat", classes="mx-2",
                disabled=("case_index < 0",))
        with html.Div(style="width: 160px;", classes="mx-2"):
            v3.VProgressLinear(model_value=("progress",), v_show="phase === 'detecting'", height=8, id="progress", color="primary")
            html.Div("{{ stage }}", v_show="phase === 'detecting'", classes="text-caption", id="stage")
        v3.VTextField(v_model=("annotator",), label="Annotator", id="annotator", density="compact", hide_details=True,
                      style="max-width: 160px;", classes="mx-2")
        v3.VBtn("Approve", id="approve", click=self.approve, color="success", variant="flat", disabled=("case_index < 0 || phase === 'detecting'",))

    def _drawer(self) -> None:
        with v3.VExpansionPanels(multiple=True, model_value=([0, 1, 2, 3],), variant="accordion"):
            self._worklist_panel()
            self._lesion_panel()
            self._display_panel()
            self._shortcuts_panel()

    def _worklist_panel(self) -> None:
        with (v3.VExpansionPanel(title="Worklist"), v3.VExpansionPanelText(),
              v3.VList(density="compact", style="max-height: 180px; overflow-y: auto;", id="worklist")):
            v3.VListItem(
                v_for="item in cases", key="item.index", id=("`case-${item.id}`",), click=(self.open_case, "[item.index]"),
                active=("item.index === case_index",), title=("item.id",),
                subtitle=("item.status + (item.annotator ? ' by ' + item.annotator : '') + (item.version ? ' (v' + item.version + ')' : '')",),
            )

    def _lesion_panel(self) -> None:
        with v3.VExpansionPanel(title="Lesions"), v3.VExpansionPanelText():
            with html.Div(classes="d-flex align-center"):
                html.Div("{{ lesions.length }} lesions", id="lesion-count", classes="text-caption mr-2")
                v3.VSelect(v_model=("lesion_order",), items=(["position", LEAST_SURE_FIRST],), label="Order", id="lesion-order",
                           density="compact", hide_details=True)
            with v3.VTable(density="compact", fixed_header=True, height="260px", id="lesion-table"):
                with html.Thead(), html.Tr():
                    for heading in ("#", "class", "mm³", "U-Net p", "2nd stage p", "location (RAS mm)"):
                        html.Th(heading)
                with html.Tbody(), html.Tr(v_for="row in lesions", key="row.index", id=("`lesion-row-${row.index}`",),
                                           click=(self.select_lesion, "[row.index]"), style="cursor: pointer;",
                                           classes=("row.index === selected ? 'bg-blue-lighten-4' : ''",)):
                    html.Td("{{ row.index + 1 }}")
                    html.Td("{{ row.cls }}", style=("row.label === 1 ? 'color: #d00000' : 'color: #008000'",))
                    html.Td("{{ row.volume }}")
                    html.Td("{{ row.prob }}")
                    html.Td("{{ row.second_stage_prob }}")
                    html.Td("{{ row.location }}")
            with html.Div(classes="d-flex mt-1"):
                v3.VBtn("Delete", id="delete-lesion", click=self.delete_selected, size="small", disabled=("selected < 0",), classes="mr-1")
                v3.VBtn("Relabel", id="relabel-lesion", click=self.relabel_selected, size="small", disabled=("selected < 0",))

    def _display_panel(self) -> None:
        with v3.VExpansionPanel(title="Segments and tools"), v3.VExpansionPanelText():
            with html.Div(classes="d-flex"):
                v3.VCheckbox(v_model=("show_cmb",), label="Cerebral microbleed", color="red", id="show-cmb", density="compact", hide_details=True)
                v3.VCheckbox(v_model=("show_iron",), label="Iron deposit", color="green", id="show-iron", density="compact", hide_details=True)
            v3.VSlider(v_model=("opacity",), min=0, max=1, step=0.05, label="Opacity", id="opacity", density="compact", hide_details=True)
            with v3.VBtnToggle(v_model=("tool",), mandatory=True, density="compact", classes="my-1", id="tool"):
                v3.VBtn("None", value="none", id="tool-none")
                v3.VBtn("Paint", value="paint", id="tool-paint")
                v3.VBtn("Erase", value="erase", id="tool-erase")
            with v3.VBtnToggle(v_model=("paint_label",), mandatory=True, density="compact", classes="my-1", id="paint-label"):
                v3.VBtn("Microbleed", value=CMB, id="paint-cmb", color="red")
                v3.VBtn("Iron deposit", value=IRON, id="paint-iron", color="green")
            v3.VTextField(v_model_number=("brush_mm",), type="number", label="Brush diameter (mm)", id="brush-mm", density="compact",
                          hide_details=True, min=0.5, step=0.5, classes="my-1")
            v3.VSelect(v_model=("window_preset",), items=(list(WINDOW_PRESETS),), label="Window", id="window-preset", density="compact", hide_details=True)
            v3.VCheckbox(v_model=("show_3d",), label="Segments in 3-D", id="show-3d", density="compact", hide_details=True)

    def _shortcuts_panel(self) -> None:
        with v3.VExpansionPanel(title="Keyboard"), v3.VExpansionPanelText():
            for key, action in SHORTCUTS:
                html.Div(f"{key}: {action}", classes="text-caption")

    def _slice_view_ui(self, server, view_id, view) -> None:
        create_vertical_slice_view_gutter_ui(server, view_id, view)
        self._view_label(view.get_singleton_tag())

    def _three_d_view_ui(self, server, view_id, view) -> None:
        create_vertical_view_gutter_ui(server, view_id, view)
        self._view_label(view.get_singleton_tag())

    @staticmethod
    def _view_label(tag: str) -> None:
        text = VIEWS[tag][1] if tag in VIEWS else "3-D"
        html.Div(text, id=f"view-label-{tag}", classes="review-view-label text-caption",
                 style="position: absolute; top: 2px; right: 6px; color: white; pointer-events: none;")

    # --- cases --------------------------------------------------------------------------

    def open_first_unread(self) -> None:
        """Open the first case that is not approved yet (the first case when all are)."""
        index = next_unread(self.cases, case_statuses(self.session.datastore_root), -1)
        self.open_case(0 if index is None else index)

    @reporting
    def open_case(self, index: int) -> None:
        """Open case `index` of the worklist (the page sends an index, never a path)."""
        index = int(index)
        if not 0 <= index < len(self.cases):
            raise DeepMIRError(f"no case {index} in the worklist")
        self.editor.deactivate_effect()
        self.state.update({"tool": "none", "lesions": [], "selected": -1, "error": "", "phase": "opening"})
        self.session.open(self.cases[index])
        self._show_case_volumes()
        self.editor.set_active_segmentation(self.session.segmentation_node, self.session.swi_node)
        self._apply_display()
        self.state.update({"case_index": index, "case_id": self.cases[index].case_id, "phase": "open", "progress": 0,
                           "message": f"Opened {self.cases[index].case_id}."})

    def _show_case_volumes(self) -> None:
        nodes = self.session.volume_nodes
        for tag, (_, _, _, modality) in VIEWS.items():
            view = self.slicer_app.view_manager.get_view(tag)
            node = nodes.get(modality)
            view.set_background_volume_id(node.GetID() if node is not None else None)
            view.set_foreground_volume_id(None)
        self.slicer_app.view_manager.get_view("SWI_axial").set_visible_in_3d(True)  # the 3-D view's anatomy
        self.slicer_app.display_manager.reset_views()
        link_slice_views(self.slicer_app.scene)

    @reporting
    def next_case(self) -> None:
        if self.state.case_index < len(self.cases) - 1:
            self.open_case(self.state.case_index + 1)

    @reporting
    def previous_case(self) -> None:
        if self.state.case_index > 0:
            self.open_case(self.state.case_index - 1)

    # --- detection ----------------------------------------------------------------------

    @reporting
    def toggle_detection(self) -> None:
        if self.session.detection_running:
            self.session.cancel_detection()
            self.state.message = "Cancelling..."
            return
        self.editor.deactivate_effect()
        self.state.tool = "none"
        self.session.start_detection()
        self.state.update({"phase": "detecting", "progress": 0, "stage": "starting", "error": "", "message": "Detection started."})
        create_task(self._follow_detection())

    async def _follow_detection(self) -> None:
        """Poll the worker until it ends; then show its segments and lesions (or why not)."""
        while True:
            progress = self._poll_once()
            if progress is None or progress.state != "running":
                break
            await asyncio.sleep(POLL_SECONDS)

    def _poll_once(self):
        with self.state:
            try:
                progress = self.session.poll_detection()
            except Exception as err:  # reading the result failed: say so, keep the case open
                log.exception("review: reading the detection failed")
                self.state.update({"phase": "open", "error": f"{type(err).__name__}: {err}"})
                return None
            if progress is None:
                return None
            self.state.update({"progress": round(100 * progress.fraction), "stage": progress.stage})
            if progress.state == "running":
                return progress
            self._detection_ended(progress)
        return progress

    def _detection_ended(self, progress) -> None:
        if progress.state == "done":
            self.editor.set_active_segmentation(self.session.segmentation_node, self.session.swi_node)
            self._apply_display()
            self._refresh_lesion_rows()
            self._show_3d_from_above()
            self.state.update({"phase": "detected", "message": progress.message, "selected": -1})
        else:
            self.state.update({"phase": "open", "message": progress.message})
            if progress.state == "failed":
                self.state.error = progress.message

    def _show_3d_from_above(self) -> None:
        """Fit the 3-D view to the lesions and the SWI axial slice, seen from above (an
        axial slab seen from the front is a line)."""
        view = self.slicer_app.view_manager.get_view(THREE_D_VIEW)
        view.reset_view()
        view.rotate_to_view_direction(ViewDirection.SUPERIOR)

    # --- lesions ------------------------------------------------------------------------

    @reporting
    def select_lesion(self, index: int) -> None:
        """Select a row of the lesion table and centre every view on that lesion, zoomed in."""
        index = int(index)
        if not 0 <= index < len(self.session.lesions):
            return
        self.state.selected = index
        self.session.centre_on_lesion(index)
        for view in self.slicer_app.view_manager.get_slice_views():
            node = view.get_view_node()
            width, height, depth = node.GetFieldOfView()
            node.SetFieldOfView(LESION_FIELD_OF_VIEW_MM, LESION_FIELD_OF_VIEW_MM * height / width, depth)

    def next_lesion(self, step: int = 1) -> None:
        """Select the next (step 1) or previous (-1) lesion in the table's order."""
        order = [row["index"] for row in self.state.lesions]
        if order:
            position = order.index(self.state.selected) if self.state.selected in order else -1 if step > 0 else 0
            self.select_lesion(order[(position + step) % len(order)])

    @reporting
    def delete_selected(self) -> None:
        self._edit_selected(self.session.delete_lesion, "Deleted")

    @reporting
    def relabel_selected(self) -> None:
        self._edit_selected(self.session.relabel_lesion, "Relabelled")

    def _edit_selected(self, edit, verb: str) -> None:
        index = self.state.selected
        if index < 0:
            raise DeepMIRError("select a lesion in the table first")
        row = next((row for row in self.state.lesions if row["index"] == index), None)
        if row is None:
            self._refresh_lesion_rows()
            raise DeepMIRError("the selected lesion is no longer in the table, which has been refreshed")
        if not edit(index):
            raise DeepMIRError(f"no lesion at {row['location']}: the table was out of date and has been refreshed")
        self._refresh_lesion_rows()
        self.state.message = f"{verb} lesion {index + 1} ({row['cls']}, {row['location']})."

    def _on_segmentation_modified(self, *_) -> None:
        """Painting and erasing change the segments: list the lesions again, once per burst of events."""
        if self._refresh_pending or self.session.segmentation_node is None or self.state.phase == "detecting":
            return
        self._refresh_pending = True

        async def refresh():
            await asyncio.sleep(0.05)
            self._refresh_pending = False
            with self.state:
                try:
                    self.session.refresh_lesions()
                    self._refresh_lesion_rows()
                except DeepMIRError as err:
                    self.state.error = str(err)

        create_task(refresh())

    # --- display and tools ----------------------------------------------------------------

    def _apply_display(self) -> None:
        if self.session.segmentation_node is None:
            return
        self._on_visibility()
        self._on_opacity()
        self._on_window_preset()
        self._on_show_3d()

    @reporting
    def _on_visibility(self, **_) -> None:
        if self.session.segmentation_node is not None:
            self.session.set_segment_visible(CMB, self.state.show_cmb)
            self.session.set_segment_visible(IRON, self.state.show_iron)

    @reporting
    def _on_opacity(self, **_) -> None:
        if self.session.segmentation_node is not None:
            self.session.set_segment_opacity(float(self.state.opacity))

    @reporting
    def _on_window_preset(self, **_) -> None:
        if self.session.volume_nodes:
            self.session.apply_window_preset(self.state.window_preset)

    @reporting
    def _on_show_3d(self, **_) -> None:
        if self.session.segmentation_node is not None:
            self.editor.set_surface_representation_enabled(bool(self.state.show_3d))

    @reporting
    def _on_tool(self, **_) -> None:
        """Paint or erase with trame-slicer's Segment Editor effects (Slicer's segment editor logic)."""
        if self.session.segmentation_node is None or self.state.tool == "none":
            self.editor.deactivate_effect()
            return
        label = int(self.state.paint_label)
        self.editor.set_active_segment_id(self.session.segment_id(label))
        if self.state.tool == "paint":
            effect = self.editor.set_active_effect_type(SegmentationEffectPaint)
        else:
            effect = self.editor.set_active_effect_type(SegmentationEffectErase)
            effect.set_mode(ModificationMode.RemoveAll)  # erase whatever lesion lies under the brush
        diameter = float(self.state.brush_mm or DEFAULT_BRUSH_MM)
        effect.set_brush_diameter(max(diameter, 0.1), BrushDiameterMode.Absolute)
        self._attach_effect_views(effect)

    def _attach_effect_views(self, effect) -> None:
        """Give every pipeline of the effect its view (trame-slicer 2.0.0 can create a pipeline before its view)."""
        view_manager = self.slicer_app.view_manager
        for pipeline_reference in effect.pipelines:
            pipeline = pipeline_reference()
            if pipeline is not None and pipeline._view is None:
                pipeline.SetView(view_manager.get_view(pipeline.GetViewNode()))

    # --- approval -----------------------------------------------------------------------

    @reporting
    def approve(self) -> None:
        """Save the case as a new version of the training set, then open the next unread case."""
        if self.state.case_index < 0:
            raise DeepMIRError("open a case first")
        case_id = self.state.case_id
        entry = self.session.approve(self.state.annotator or "")
        counts = (entry.changes or {}).get("counts", {})
        changed = ", ".join(f"{value} {key}" for key, value in counts.items() if key != "kept" and value) or "no lesion changed"
        self.state.saved = [*self.state.saved, {"case": case_id, "version": entry.version}]
        self._refresh_worklist()
        following = next_unread(self.cases, case_statuses(self.session.datastore_root), self.state.case_index)
        message = f"Approved {case_id} as version {entry.version} ({changed})."
        if following is None:
            self.state.message = message + " Every case is approved."
            return
        self.open_case(following)
        self.state.message = message + f" Opened {self.cases[following].case_id}."

    # --- keyboard -----------------------------------------------------------------------

    @reporting
    def on_key(self, key: str) -> None:
        action = KEY_ACTIONS.get(key)
        simple = {
            "next_lesion": lambda: self.next_lesion(1), "previous_lesion": lambda: self.next_lesion(-1),
            "delete_selected": self.delete_selected, "relabel_selected": self.relabel_selected, "approve": self.approve,
            "toggle_detection": self.toggle_detection, "next_case": self.next_case, "previous_case": self.previous_case,
        }
        settings = {
            "paint": {"tool": "paint"}, "erase": {"tool": "erase"}, "no_tool": {"tool": "none"},
            "paint_cmb": {"paint_label": CMB}, "paint_iron": {"paint_label": IRON},
            "toggle_cmb": {"show_cmb": not self.state.show_cmb}, "toggle_iron": {"show_iron": not self.state.show_iron},
        }
        if action in simple and self.state.case_index >= 0:
            simple[action]()
        elif action in settings:
            self.state.update(settings[action])
