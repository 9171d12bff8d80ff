/**
 * The token box. When any call answers 401 the panel under the header asks for a bearer token,
 * saves it in localStorage and reloads the current view; the header then offers to forget it.
 */
import { getToken, onUnauthorized, setToken } from "./api.ts";
import { h, mount } from "./dom.ts";

/** Wires the token panel; `rerender` re-runs the current route after the token changes. */
export function setupAuth(rerender: () => void): void {
  const slot = document.getElementById("auth-slot")!;
  const panel = document.getElementById("auth-panel")!;

  // On an open API a token link is only noise: it appears once the service has asked for one.
  let asked = false;
  const renderSlot = () => {
    if (getToken()) {
      mount(
        slot,
        h("span", { class: "token-state", title: "Requests carry the saved bearer token" }, "Token saved"),
        h("button", { class: "link-button", type: "button", onclick: () => { setToken(null); renderSlot(); rerender(); } }, "Forget token"),
      );
    } else if (!asked) {
      slot.replaceChildren();
    } else {
      mount(slot, h("button", { class: "link-button", type: "button", onclick: () => open(false) }, "Access token"));
    }
  };

  const open = (rejected: boolean) => {
    const input = h("input", { type: "password", name: "token", autocomplete: "off", placeholder: "Paste your API token", "aria-label": "API token", required: true });
    const form = h(
      "form",
      {
        class: "token-form",
        onsubmit: (e: Event) => {
          e.preventDefault();
          const token = input.value.trim();
          if (!token) return;
          setToken(token);
          panel.hidden = true;
          renderSlot();
          rerender();
        },
      },
      h(
        "div",
        { class: "token-text" },
        h("strong", null, rejected ? "Your saved token was not accepted." : "This service needs an access token."),
        h("span", null, " Paste a bearer token with read access (write access to upload). It is kept in this browser only."),
      ),
      h("div", { class: "token-row" }, input, h("button", { class: "button primary", type: "submit" }, "Save token"), h("button", { class: "button", type: "button", onclick: () => { panel.hidden = true; } }, "Cancel")),
    );
    mount(panel, form);
    panel.hidden = false;
    input.focus();
  };

  onUnauthorized((rejected) => {
    asked = true;
    renderSlot();
    if (panel.hidden) open(rejected);
  });
  renderSlot();
}
