/**
 * GET /register: the page the 2001 message links to, and GET /register.js, its script (a file of
 * its own: the CSP allows no inline script). The page binds only the anonymous account whose
 * token this browser holds (localStorage `vidscribe.token`, or pasted): it asks the server whose
 * token that is and binds that account, with the token as bearer. The link's `?bind=` id only
 * says a move is wanted; an id that names another account binds nothing.
 */
export const REGISTER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>vidscribe — create an account</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font:inherit}button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit}#out{margin-top:1rem;white-space:pre-wrap}small{color:#555}</style>
<script src="/register.js" defer></script>
</head><body>
<h1>Create a vidscribe account</h1>
<p id="bindnote" hidden>Your anonymous session's credits and projects move to the new account.</p>
<form id="f" action="/api/auth/register" method="post"><label for="email">Email</label><input id="email" type="email" required maxlength="254" autocomplete="email">
<label for="password">Password (8 to 1024 characters)</label><input id="password" type="password" minlength="8" maxlength="1024" required autocomplete="new-password">
<label for="token">Your anonymous token <small>(optional: moves its credits and projects; filled in when this browser has it)</small></label><input id="token" type="password" maxlength="200" autocomplete="off">
<button type="submit">Create account</button></form>
<div id="out" role="status"></div>
</body></html>`;

export const REGISTER_SCRIPT = `'use strict';
(() => {
  const TOKEN_KEY = 'vidscribe.token';
  const $ = (id) => document.getElementById(id);
  const linkBind = new URLSearchParams(location.search).get('bind');
  let stored = null;
  try {
    stored = localStorage.getItem(TOKEN_KEY);
  } catch (e) {
    $('out').textContent = 'This browser keeps no token for this page (' + e.message + '): paste yours to move your credits.';
  }
  if (stored) $('token').value = stored;
  if (linkBind || stored) $('bindnote').hidden = false;
  let warned = false;

  const json = async (path, init) => (await fetch(path, init)).json();

  $('f').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = $('out');
    const token = $('token').value.trim();
    const body = { email: $('email').value, password: $('password').value };
    const headers = { 'content-type': 'application/json' };
    let note = '';
    if (token) {
      const me = await json('/api/auth/me', { headers: { authorization: 'Bearer ' + token } });
      if (me.code === 0 && me.data.kind === 'anonymous') {
        // The account this browser's token names is the one that moves, whatever id the link carries.
        body.bind = me.data.account_id;
        headers.authorization = 'Bearer ' + token;
        if (linkBind && linkBind !== me.data.account_id) note = 'The link named another anonymous account; yours (the one whose token this browser holds) was moved instead.\\n';
      } else if (me.code === 0) {
        note = 'That token belongs to a registered account: nothing was moved.\\n';
      } else {
        note = 'The anonymous token was not accepted (' + me.message + '): nothing was moved.\\n';
      }
    } else if (linkBind && !warned) {
      warned = true;
      out.textContent = 'This link moves an anonymous session, but this browser holds no anonymous token. Paste it above, or press the button again to register without moving anything.';
      return;
    }
    const j = await json('/api/auth/register', { method: 'POST', headers, body: JSON.stringify(body) });
    if (j.code !== 0) {
      out.textContent = note + 'Could not register: ' + j.message;
      return;
    }
    try {
      localStorage.setItem(TOKEN_KEY, j.data.token);
    } catch (e) {
      note += 'This browser could not keep the token (' + e.message + '): copy it now.\\n';
    }
    out.textContent = note + 'Account created. Your token (keep it secret):\\n' + j.data.token + '\\nCredits: ' + j.data.credits;
  });
})();
`;
