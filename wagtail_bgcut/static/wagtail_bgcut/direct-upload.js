// Direct browser uploads for wagtail-bgcut (framework-free ES module).
//
// 1. ask the site for a token + signed ticket (POST JSON, CSRF),
// 2. send the file + token straight to the Processing API (or the site's local endpoint),
//    with upload progress (XMLHttpRequest); a site whose worker cuts the image answers 202 with a
//    status URL, polled until the cut-out is ready or a reason comes back; a busy site answers
//    503 with Retry-After, and the file is sent again after that wait (the token is unspent),
// 3. post the result and the ticket back to the site's finalize URL (CSRF); show the cut-out.
//
// Markup: any element with data-bgcut-direct-upload (see the widget template). Every widget on
// the page is wired when this module loads; attach(element) wires one added later.

const STATE = new WeakSet();

function csrfToken(root) {
  const form = root.closest("form");
  const input = (form || document).querySelector("input[name=csrfmiddlewaretoken]");
  if (input && input.value) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function postJSON(url, body, csrf) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body),
  });
  let data = {};
  try {
    data = await response.json();
  } catch (e) {
    data = {};
  }
  if (!response.ok) {
    throw new Error(data.detail || `The site answered ${response.status}.`);
  }
  return data;
}

export function requestToken(tokenUrl, presets, csrf) {
  return postJSON(tokenUrl, { presets }, csrf);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// How often a busy site (503 + Retry-After) is asked again before its reason is shown.
const BUSY_RETRIES = 5;

function retryAfter(value, fallback) {
  const seconds = Number.parseInt(value || "", 10);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) : fallback;
}

// Multipart token + image, once; resolves {status, data, retryAfter} whatever the status.
function sendOnce(processUrl, token, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", processUrl);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    // The file is sent: from here on the API is removing the background (seconds, not bytes).
    xhr.upload.addEventListener("load", () => onProgress && onProgress(1));
    xhr.addEventListener("load", () =>
      resolve({
        status: xhr.status,
        data: xhr.response || {},
        retryAfter: xhr.getResponseHeader("Retry-After"),
      }),
    );
    xhr.addEventListener("error", () => reject(new Error("The upload could not be sent.")));
    const form = new FormData();
    form.append("token", token);
    form.append("image", file);
    xhr.send(form);
  });
}

// Poll a worker-cut upload's status URL (202 while it waits) until the result or a reason.
export async function followStatus(statusUrl) {
  for (;;) {
    const response = await fetch(statusUrl, { credentials: "same-origin" });
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    if (response.status === 202) {
      await sleep(retryAfter(response.headers.get("Retry-After"), 1) * 1000);
      continue;
    }
    if (response.ok && data.status === "success") return data;
    throw new Error(data.detail || `Background removal failed (${response.status}).`);
  }
}

// Multipart token + image, as the Processing API documents; onProgress(fraction 0..1);
// onWait(message) while a busy site is waited for.
export async function sendToProcessing(processUrl, token, file, onProgress, onWait) {
  for (let attempt = 0; ; attempt += 1) {
    const { status, data, retryAfter: after } = await sendOnce(processUrl, token, file, onProgress);
    if (status >= 200 && status < 300 && data.status === "success") return data;
    if (status === 202 && data.status_url) return followStatus(data.status_url);
    if (status === 503 && after && attempt < BUSY_RETRIES) {
      if (onWait) onWait(data.detail || "");
      await sleep(retryAfter(after, 5) * 1000);
      continue;
    }
    throw new Error(data.detail || `Background removal failed (${status}).`);
  }
}

export function finalize(finalizeUrl, grant, result, csrf) {
  return postJSON(
    finalizeUrl,
    {
      ticket: grant.ticket,
      token: grant.token,
      unique_filename: result.unique_filename,
      input_url: result.input_url,
      output_urls: result.output_urls,
    },
    csrf,
  );
}

export async function upload(root, file) {
  const presets = JSON.parse(root.dataset.presets || "[]");
  const csrf = csrfToken(root);
  const progress = root.querySelector("[data-bgcut-progress]");
  const status = root.querySelector("[data-bgcut-status]");
  const preview = root.querySelector("[data-bgcut-preview]");
  const reference = root.querySelector("[data-bgcut-reference]");
  const say = (text) => {
    if (status) status.textContent = text;
  };
  root.dataset.state = "uploading";
  if (progress) {
    progress.hidden = false;
    progress.value = 0;
  }
  try {
    say(root.dataset.textStarting || "Preparing upload…");
    const grant = await requestToken(root.dataset.tokenUrl, presets, csrf);
    say(root.dataset.textUploading || "Uploading…");
    const result = await sendToProcessing(grant.process_url, grant.token, file, (f) => {
      if (f < 1) {
        if (progress) progress.value = Math.round(f * 100);
      } else if (root.dataset.state === "uploading") {
        root.dataset.state = "processing";
        if (progress) progress.removeAttribute("value"); // indeterminate: no byte count to show
        say(root.dataset.textProcessing || "Removing the background…");
      }
    }, (detail) => {
      root.dataset.state = "uploading"; // sent again after the wait: progress shows once more
      say(detail);
    });
    say(root.dataset.textSaving || "Saving…");
    const saved = await finalize(grant.finalize_url, grant, result, csrf);
    if (reference) reference.value = saved.reference;
    if (preview) {
      preview.replaceChildren();
      for (const [name, cutout] of Object.entries(saved.cutouts)) {
        const img = document.createElement("img");
        img.src = cutout.url;
        img.alt = name;
        img.width = cutout.width;
        img.height = cutout.height;
        img.dataset.preset = name;
        preview.append(img);
      }
    }
    root.dataset.state = "done";
    say(root.dataset.textDone || "Done.");
    root.dispatchEvent(new CustomEvent("bgcut:uploaded", { bubbles: true, detail: saved }));
    return saved;
  } catch (err) {
    root.dataset.state = "error";
    say(err.message);
    root.dispatchEvent(new CustomEvent("bgcut:error", { bubbles: true, detail: err }));
    throw err;
  } finally {
    if (progress) progress.hidden = true;
  }
}

export function attach(root) {
  if (STATE.has(root)) return;
  STATE.add(root);
  const input = root.querySelector("[data-bgcut-file]");
  if (!input) return;
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    if (file) upload(root, file).catch(() => {});
  });
}

for (const root of document.querySelectorAll("[data-bgcut-direct-upload]")) attach(root);
