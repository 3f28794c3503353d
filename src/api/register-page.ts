/**
 * GET /register: the page the 2001 message links to. It posts to /api/auth/register with the
 * anonymous id from `?bind=`, so the credits and sessions move to the new account.
 */
export const REGISTER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>vidscribe — create an account</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font:inherit}button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit}#out{margin-top:1rem;white-space:pre-wrap}</style>
</head><body>
<h1>Create a vidscribe account</h1>
<p id="bindnote" hidden>Your anonymous session's credits and projects move to the new account.</p>
<form id="f"><label for="email">Email</label><input id="email" type="email" required autocomplete="email">
<label for="password">Password (8 characters or more)</label><input id="password" type="password" minlength="8" required autocomplete="new-password">
<button type="submit">Create account</button></form>
<div id="out" role="status"></div>
<script>
const bind = new URLSearchParams(location.search).get('bind');
if (bind) document.getElementById('bindnote').hidden = false;
document.getElementById('f').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = document.getElementById('out');
  const body = { email: document.getElementById('email').value, password: document.getElementById('password').value };
  if (bind) body.bind = bind;
  const r = await fetch('/api/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = await r.json();
  out.textContent = j.code === 0 ? 'Account created. Your token (keep it secret):\\n' + j.data.token + '\\nCredits: ' + j.data.credits : 'Could not register: ' + j.message;
});
</script></body></html>`;
