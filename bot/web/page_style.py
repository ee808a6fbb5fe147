"""How the Gradio pages look and what assistive technology hears on them.

CSS for the customer chat and the staff page (contrast, readable table headers, no
Gradio icons a customer has no use for) and one small script for both pages: it marks
the status outputs (class ``lotse-live``) as polite live regions, keeps the chat log
itself quiet while an answer streams in word by word (the whole answer is read out once
from the page's announcer instead), and gives ``<html lang>`` and the log the page's
language.
"""

from __future__ import annotations

# Gradio's orange on white reads at 2.8:1 to 3.6:1; these pass WCAG AA (4.5:1) for text.
_COLORS = """
:root, .gradio-container {
  --button-primary-background-fill: #b83d0b !important;
  --button-primary-background-fill-hover: #8f2f08 !important;
  --button-primary-border-color: #b83d0b !important;
  --button-primary-border-color-hover: #8f2f08 !important;
  --button-primary-text-color: #ffffff !important;
  --button-primary-text-color-hover: #ffffff !important;
  --color-accent: #b83d0b !important;
  --body-text-color-subdued: #4b5563 !important;
  --block-label-text-color: #374151 !important;
  --block-info-text-color: #4b5563 !important;
  --input-placeholder-color: #5f6672 !important;
}
.tab-container button.selected, button[role="tab"][aria-selected="true"] { color: #8f2f08 !important; }
:focus-visible { outline: 3px solid #1d4ed8 !important; outline-offset: 2px; }
#page-title h1, #title h1 { font-size: 1.6rem; margin: 0; }
.lotse-sr-only { position: absolute !important; width: 1px !important; height: 1px !important;
  padding: 0 !important; margin: -1px !important; overflow: hidden !important;
  clip: rect(0 0 0 0) !important; white-space: nowrap !important; border: 0 !important; }
.lotse-sr-only [data-testid=status-tracker] { display: none !important; }
"""

# Table headers wrap between words, never inside one; a wide table scrolls sideways.
_TABLES = """
.prose th { overflow-wrap: normal !important; word-break: normal !important; hyphens: manual !important; }
th .header.text { overflow-wrap: normal !important; word-break: keep-all !important;
  white-space: nowrap !important; }
th.header-cell { min-width: max-content !important; width: auto !important; max-width: none !important; }
"""

# Rating buttons follow each bubble; a bubble with a role label (team reply, notice) has none.
_CHAT = """
.message-row:has(.lotse-role) + .message-buttons { display: none !important; }
.lotse-role { display: inline-block; font-size: 0.8em; font-weight: 600;
  text-transform: uppercase; letter-spacing: 0.04em; color: #374151; }
.lotse-products { display: flex; flex-wrap: wrap; gap: 0.5em; }
.lotse-product { flex: 1 1 12em; border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: 0.5em 0.75em; }
#chat .icon-button-wrapper.top-panel, #transcript .icon-button-wrapper.top-panel { display: none !important; }
"""

CUSTOMER_CSS = _COLORS + _TABLES + _CHAT
STAFF_CSS = _COLORS + _TABLES + _CHAT

# Gradio renders parts of the page late (tabs, updates), so the marks are set again
# whenever the page changes.
HEAD = """<script>
(() => {
  const LOG_NAMES = {de: "Gesprächsverlauf", en: "Conversation"};
  const EXAMPLE_NAMES = {de: "Beispielfragen", en: "Example questions"};
  const mark = () => {
    document.querySelectorAll(".lotse-live:not([aria-live])").forEach((el) => {
      el.setAttribute("role", "status");
      el.setAttribute("aria-live", "polite");
    });
    // Gradio's running timer ("0.4s") inside a live region would be read out as it ticks.
    document.querySelectorAll(".lotse-live [data-testid=status-tracker]:not([aria-hidden])")
      .forEach((el) => el.setAttribute("aria-hidden", "true"));
    const picked = document.querySelector("#language input:checked");
    const lang = picked ? picked.value : (document.documentElement.lang || "de").slice(0, 2);
    if (picked && document.documentElement.lang !== lang) document.documentElement.lang = lang;
    // Gradio calls its example buttons a list without list items.
    document.querySelectorAll("#chat .examples[role=list]").forEach((box) => {
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", EXAMPLE_NAMES[lang] || EXAMPLE_NAMES.de);
    });
    document.querySelectorAll("#chat [role=log]").forEach((log) => {
      if (log.getAttribute("aria-live") !== "off") log.setAttribute("aria-live", "off");
      const name = LOG_NAMES[lang] || LOG_NAMES.de;
      if (log.getAttribute("aria-label") !== name) log.setAttribute("aria-label", name);
    });
  };
  let queued = false;
  const soon = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; mark(); }); } };
  new MutationObserver(soon).observe(document.documentElement, {subtree: true, childList: true, characterData: true});
  document.addEventListener("change", soon, true);
  document.addEventListener("DOMContentLoaded", soon);
})();
</script>"""
