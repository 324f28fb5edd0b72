/**
 * The web catalogue's only script and style sheet, served as files from /ui/assets/ so the pages'
 * Content-Security-Policy can forbid inline script and style altogether. Kept as strings in a module
 * so that the build (tsc) carries them into dist/ with the code that serves them.
 */

// Plain ES2017, no template literals: it runs as written in the browser, nothing compiles it.
const SCRIPT = String.raw`'use strict';
(function () {
  // Copy buttons beside each command: copy the text of the element the button names.
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    button.addEventListener('click', function () {
      var source = document.getElementById(button.getAttribute('data-copy'));
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent).then(function () {
        button.textContent = 'Copied';
      });
    });
  });

  // An image registered without its file (or whose upload failed): upload it from its page.
  var fileForm = document.getElementById('file-form');
  if (fileForm) {
    fileForm.addEventListener('submit', function (event) {
      event.preventDefault();
      var file = fileForm.elements.namedItem('file').files[0];
      if (!file) return;
      fileForm.querySelector('button[type=submit]').disabled = true;
      upload({ id: fileForm.getAttribute('data-image-id') }, file, fileForm);
    });
  }

  var form = document.getElementById('upload-form');
  if (!form) return;

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var file = form.elements.namedItem('file').files[0];
    if (!file) { say('Choose a file to upload.'); return; }
    var fields = {};
    ['name', 'disk', 'container_format', 'architecture', 'access', 'series'].forEach(function (field) {
      var input = form.elements.namedItem(field);
      if (input && input.value !== '') fields[field] = input.value;
    });
    var button = form.querySelector('button[type=submit]');
    var csrf = form.elements.namedItem('csrf').value;
    button.disabled = true;
    say('Registering the image…');
    // Registered through the API itself; the session's CSRF token in a header lets the cookie act.
    fetch('/images', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(fields),
    }).then(function (res) {
      return res.json().then(function (body) {
        if (res.status !== 201) throw new Error(messageOf(body, 'registering failed (' + res.status + ')'));
        return body;
      });
    }).then(function (image) {
      upload(image, file, form);
    }).catch(function (error) {
      say(error.message);
      button.disabled = false;
    });
  });

  function say(text) { document.getElementById('upload-status').textContent = text; }
  function messageOf(body, fallback) {
    return body && body.error && body.error.message ? body.error.message : fallback;
  }

  // XMLHttpRequest sends the File from disk as it goes: the page never holds its bytes, and
  // upload progress events say how far it got.
  function upload(image, file, owner) {
    var csrf = owner.elements.namedItem('csrf').value;
    var button = owner.querySelector('button[type=submit]');
    var progress = document.getElementById('upload-progress');
    var xhr = new XMLHttpRequest();
    var events = 0;
    xhr.open('PUT', '/images/' + encodeURIComponent(image.id) + '/file');
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-csrf-token', csrf);
    progress.hidden = false;
    progress.max = file.size || 1;
    progress.value = 0;
    xhr.upload.addEventListener('progress', function (e) {
      events++;
      progress.setAttribute('data-events', String(events));
      if (!e.lengthComputable) return;
      progress.max = e.total;
      progress.value = e.loaded;
      say('Uploading: ' + Math.floor((e.loaded / e.total) * 100) + '%');
    });
    xhr.addEventListener('load', function () {
      if (xhr.status === 200) {
        progress.value = progress.max;
        say('Uploaded. Opening the image…');
        window.location.assign('/ui/images/' + encodeURIComponent(image.id));
        return;
      }
      var body;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = undefined; }
      say(messageOf(body, 'upload failed (' + xhr.status + ')'));
      button.disabled = false;
    });
    xhr.addEventListener('error', function () {
      say('The upload was cut off. The image stays registered: upload its file again from its page.');
      button.disabled = false;
    });
    xhr.send(file);
  }
})();
`;

const STYLE = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --accent: #2563eb; --bad: #b91c1c; --good: #15803d; --warn: #b45309; }
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.5rem; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header .brand { font-weight: 700; letter-spacing: .05em; }
header nav { display: flex; gap: 1rem; flex: 1; }
header form { margin: 0; }
main { padding: 1rem 1.5rem 3rem; max-width: 80rem; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
form.filters { display: flex; gap: .5rem; flex-wrap: wrap; align-items: end; margin-bottom: 1rem; }
form.filters label, form.stack label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
form.stack { display: grid; gap: .8rem; max-width: 32rem; }
input, select, button { font: inherit; padding: .25rem .4rem; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .3rem; border: 1px solid currentColor; font-size: .8rem; }
.bad { color: var(--bad); } .good { color: var(--good); } .warn { color: var(--warn); }
pre { background: rgba(127,127,127,.12); padding: .5rem .7rem; overflow-x: auto; margin: 0; }
.command { display: flex; gap: .5rem; align-items: start; margin-bottom: .5rem; }
.command pre { flex: 1; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
.error { border: 1px solid var(--bad); color: var(--bad); padding: .5rem .8rem; }
.pages { display: flex; gap: 1rem; margin-top: 1rem; }
progress { width: 100%; }
`;

/** The files under /ui/assets/, by name: nothing else is served there. */
export const WEB_ASSETS: ReadonlyMap<string, { type: string; body: string }> = new Map([
  ['visor.js', { type: 'text/javascript; charset=utf-8', body: SCRIPT }],
  ['visor.css', { type: 'text/css; charset=utf-8', body: STYLE }],
]);
