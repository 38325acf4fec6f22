// The page's own code: log in one of three ways, then call the API with what the login gave us.
"use strict";

(() => {
  // Mode 3 keeps the access token here: in a variable of this closure, gone when the page closes.
  let memoryToken = null;
  const $ = (id) => document.getElementById(id);

  function show(mode, result) {
    $("mode").textContent = mode;
    document.body.dataset.mode = mode;
    $("result").textContent = JSON.stringify(result, null, 1);
    // A counter that tells a test driver a new answer is on screen.
    document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
  }

  function credentials() {
    return new URLSearchParams({ username: $("username").value, password: $("password").value });
  }

  async function answer(response) {
    return { status: response.status, body: await response.json().catch(() => null) };
  }

  async function tokenLogin() {
    const form = credentials();
    form.set("grant_type", "password");
    const response = await fetch("/oauth/token", { method: "POST", body: form });
    const result = await answer(response);
    return [result, response.ok ? result.body.access_token : null];
  }

  $("login-cookie").onclick = async () => {
    localStorage.clear(); memoryToken = null;
    // The answer sets the session cookie; the browser keeps it and sends it back by itself.
    const result = await answer(await fetch("/session/login", { method: "POST", body: credentials() }));
    show(result.status === 200 ? "cookie" : "not logged in", result);
  };

  $("login-storage").onclick = async () => {
    memoryToken = null;
    const [result, token] = await tokenLogin();
    if (token) localStorage.setItem("access_token", token);  // any script of this origin can read it back
    show(token ? "localStorage" : "not logged in", result);
  };

  $("login-memory").onclick = async () => {
    localStorage.clear();
    const [result, token] = await tokenLogin();
    memoryToken = token;  // no storage: a reload logs out (real apps then ask their backend again)
    show(token ? "memory" : "not logged in", result);
  };

  $("call").onclick = async () => {
    const mode = document.body.dataset.mode;
    let response;
    if (mode === "cookie") {
      response = await fetch("/session/me");  // same origin: the browser attaches the cookie
    } else {
      const token = mode === "localStorage" ? localStorage.getItem("access_token") : memoryToken;
      // A bearer token travels only when the page's code puts it in the header, every time.
      response = await fetch("/api/me", { headers: token ? { Authorization: "Bearer " + token } : {} });
    }
    show(mode || "not logged in", await answer(response));
  };

  $("logout").onclick = async () => {
    localStorage.clear(); memoryToken = null;
    show("not logged in", await answer(await fetch("/session/logout", { method: "POST" })));
  };

  // DELIBERATELY VULNERABLE (lab page "inject"): load a script named by the address, as an XSS hole would.
  // Only loopback script addresses, so the hole cannot be pointed anywhere else.
  const inject = new URLSearchParams(location.search).get("inject");
  if (inject && /^http:\/\/(127\.0\.0\.1|localhost):\d+\//.test(inject)) {
    $("inject-url").textContent = inject;
    $("inject").disabled = false;
    $("inject").onclick = () => {
      const script = document.createElement("script");
      script.src = inject;
      document.body.appendChild(script);
    };
  }
})();
