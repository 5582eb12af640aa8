/* nattvandring: the admins' accounts page (/admin/users).
 *
 * Lists the accounts (GET /api/v1/users), adds one (POST: the answer's one-time password is
 * shown once, then dropped from the page), changes role or disables/enables one (PATCH) and
 * gives one a new one-time password (POST /api/v1/users/{id}/password).
 * The API refuses an admin disabling or demoting themselves; its message shows here in Swedish.
 */
import { api, getJSON } from "../js/api.js";
import { $, el, pageConfig } from "../js/ui.js";
import { attempt, cell, fillList, say, select, values } from "./common.js";

const config = pageConfig();
const body = $("nv-users").querySelector("tbody");

function row(u) {
  const role = select(config.roles, u.role, "Roll för " + u.email);
  role.addEventListener("change", async () => {
    const changed = await attempt(
      () => api("PATCH", "/api/v1/users/" + u.id, { role: role.value }),
      "Rollen för " + u.email + " är nu " + config.roles[role.value] + ".",
    );
    if (!changed) role.value = u.role;
    else u.role = changed.role;
  });
  const toggle = el("button", { type: "button", text: u.disabled ? "Aktivera" : "Stäng av", class: "nv-admin-toggle" });
  toggle.addEventListener("click", async () => {
    const changed = await attempt(
      () => api("PATCH", "/api/v1/users/" + u.id, { disabled: !u.disabled }),
      u.disabled ? "Kontot " + u.email + " är aktivt igen." : "Kontot " + u.email + " är avstängt och utloggat.",
    );
    if (changed) load();
  });
  const reset = el("button", { type: "button", text: "Nytt lösenord", class: "nv-admin-reset" });
  reset.addEventListener("click", async () => {
    const made = await attempt(() => api("POST", "/api/v1/users/" + u.id + "/password"));
    if (made) showPassword(made, "Kontot " + made.user.email + " har fått ett nytt lösenord och är utloggat.");
  });
  const tr = el("tr", { "data-email": u.email }, [
    cell(u.email),
    cell(u.display_name || ""),
    cell(u.organisation.name),
    cell(role),
    cell(u.disabled ? "avstängt" : "aktivt"),
    cell([toggle, reset]),
  ]);
  if (u.disabled) tr.className = "nv-admin-disabled";
  return tr;
}

async function load() {
  const data = await attempt(() => getJSON("/api/v1/users"));
  if (!data) return;
  body.replaceChildren(...data.users.map(row));
  document.body.dataset.users = String(data.users.length);
}

async function loadOrganisations() {
  // The organisations API (FOLLOW_UP) gives the names to choose from; without it, the names
  // the accounts have.
  const data = await getJSON("/api/v1/organisations").catch(() => null);
  if (data) fillList("nv-organisations", data.organisations.map((o) => o.name));
}

$("nv-user-new").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const v = values(form);
  const made = await attempt(() => api("POST", "/api/v1/users", {
    email: v.email, role: v.role, organisation: v.organisation,
    ...(v.display_name ? { display_name: v.display_name } : {}),
  }));
  if (!made) return;
  form.reset();
  showPassword(made, "Kontot " + made.user.email + " är skapat.");
  load();
});

/** The one-time password of a new account or a reset, until the admin dismisses it. */
function showPassword(made, text) {
  $("nv-user-password-email").textContent = made.user.email;
  $("nv-user-password-value").textContent = made.password;
  $("nv-user-password").hidden = false;
  say(text);
}

$("nv-user-password-hide").addEventListener("click", () => {
  // The password leaves the page: it was to be shown once.
  $("nv-user-password-value").textContent = "";
  $("nv-user-password").hidden = true;
});

load();
loadOrganisations();
