// docarchive pages: page zoom and the multi-file upload with per-file progress.
// Everything else is plain HTML and htmx attributes; no inline scripts (CSP: script-src 'self').
"use strict";

function csrfToken() {
  return document.body.dataset.csrf || "";
}

function setupZoom() {
  const slider = document.querySelector("input[data-zoom-target]");
  if (!slider) return;
  const target = document.querySelector(slider.dataset.zoomTarget);
  const apply = () => {
    target.querySelectorAll("img.page").forEach((img) => {
      img.style.width = slider.value + "%";
    });
  };
  slider.addEventListener("input", apply);
}

function uploadRow(list, file) {
  const row = document.createElement("tr");
  const name = document.createElement("td");
  name.textContent = file.name;
  const progressCell = document.createElement("td");
  const progress = document.createElement("progress");
  progress.max = 100;
  progress.value = 0;
  progress.setAttribute("aria-label", file.name);
  progressCell.appendChild(progress);
  const result = document.createElement("td");
  result.className = "result";
  row.append(name, progressCell, result);
  list.querySelector("tbody").appendChild(row);
  list.hidden = false;
  return { row, progress, result };
}

function showResult(cells, labels, xhr) {
  let body = {};
  try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
  cells.progress.value = 100;
  cells.row.dataset.status = String(xhr.status);
  if (xhr.status === 202) {
    const link = document.createElement("a");
    link.href = "/documents/" + body.id;
    link.textContent = labels.accepted + " — " + labels.open;
    cells.result.appendChild(link);
  } else if (xhr.status === 409 && body.document_id) {
    const link = document.createElement("a");
    link.href = "/documents/" + body.document_id;
    link.textContent = labels.duplicate;
    cells.result.appendChild(link);
  } else {
    cells.result.classList.add("error");
    cells.result.textContent = labels.refused + ": " + (body.detail || xhr.statusText || "error");
  }
}

function sendFile(form, list, labels, file) {
  const cells = uploadRow(list, file);
  const data = new FormData();
  data.append("file", file, file.name);
  const documentClass = form.querySelector("[name=class]").value;
  if (documentClass) data.append("class", documentClass);
  const tags = form.querySelector("[name=tags]").value;
  if (tags) data.append("tags", tags);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.endpoint);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) cells.progress.value = (event.loaded / event.total) * 100;
    });
    xhr.addEventListener("loadend", () => { showResult(cells, labels, xhr); resolve(); });
    xhr.send(data);
  });
}

async function sendAll(form, list, labels, files) {
  for (const file of files) {
    await sendFile(form, list, labels, file);  // one at a time: the server spools each fully
  }
}

function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const list = document.getElementById("upload-list");
  const labels = document.getElementById("upload-labels").dataset;
  const input = document.getElementById("upload-files");
  const zone = document.getElementById("dropzone");
  input.addEventListener("change", () => { sendAll(form, list, labels, Array.from(input.files)); input.value = ""; });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    sendAll(form, list, labels, Array.from(event.dataTransfer.files));
  });
}

document.addEventListener("DOMContentLoaded", () => { setupZoom(); setupUpload(); });
