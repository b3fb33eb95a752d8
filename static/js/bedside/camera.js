/* Camera decoding: the camera button opens a live view read by the browser's
 * BarcodeDetector where there is one; "拍照识别" or a photo from the camera app (plain-http
 * intranet pages get no live camera) is decoded by POST /api/v1/codes/decode. A code found
 * is a read like any other (scan.js).
 */
import { csrfToken, gettext, messageOf, readAnswer } from "./kit.js";
import { audio, sound } from "./sound.js";

export function createCamera(page) {
  var root = page.root;
  var camera = {
    panel: root.querySelector("[data-camera-panel]"),
    video: root.querySelector("[data-camera-video]"),
    msg: root.querySelector("[data-camera-msg]"),
    photo: root.querySelector("[data-photo]"),
    stream: null,
    detector: null,
    timer: null,
    busy: false,
  };

  function message(text, bad) {
    camera.msg.textContent = text;
    camera.msg.className = "bs-camera-msg" + (bad ? " err" : "");
  }

  function close() {
    if (camera.timer) clearTimeout(camera.timer);
    camera.timer = null;
    if (camera.stream) camera.stream.getTracks().forEach(function (t) { t.stop(); });
    camera.stream = null;
    camera.video.srcObject = null;
    camera.panel.hidden = true;
    page.box.focus();
  }

  function found(text) {
    close();
    page.scan.take(text);
  }

  function makeDetector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    var wanted = ["data_matrix", "code_128", "qr_code", "ean_13"];
    var supported = window.BarcodeDetector.getSupportedFormats
      ? window.BarcodeDetector.getSupportedFormats() : Promise.resolve(wanted);
    return supported.then(function (formats) {
      var usable = wanted.filter(function (f) { return formats.indexOf(f) >= 0; });
      return usable.length ? new window.BarcodeDetector({ formats: usable }) : null;
    }).catch(function () { return null; });
  }

  function detectLoop() {
    if (!camera.stream || !camera.detector) return;
    camera.detector.detect(camera.video).then(function (codes) {
      if (codes && codes.length && codes[0].rawValue) { found(codes[0].rawValue); return; }
      camera.timer = setTimeout(detectLoop, 200);
    }).catch(function () { camera.timer = setTimeout(detectLoop, 400); });
  }

  function open() {
    audio();
    camera.panel.hidden = false;
    message(gettext("正在打开摄像头… / Opening the camera"));
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      // Plain-http intranet pages get no live camera: a photo from the camera app works.
      message(gettext("此页面无法直接使用摄像头：请点“选择照片”拍照 / Use “Photo”"), true);
      return;
    }
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" } }, audio: false,
    }).then(function (stream) {
      camera.stream = stream;
      camera.video.srcObject = stream;
      return camera.video.play().catch(function () { return null; });
    }).then(function () {
      return makeDetector();
    }).then(function (detector) {
      if (!camera.stream) return;
      camera.detector = detector;
      if (detector) {
        message(gettext("对准条码，识别后自动提交 / Aim at the barcode"));
        detectLoop();
      } else {
        message(gettext("对准条码后点“拍照识别” / Aim, then press Capture"));
      }
    }).catch(function () {
      message(gettext("无法打开摄像头：请点“选择照片”拍照 / No camera: use “Photo”"), true);
    });
  }

  function decodeBlob(blob) {
    if (camera.busy) return;
    if (navigator.onLine === false) {
      message(gettext("离线时无法识别照片，请用扫码枪 / Offline: use the scanner"), true);
      return;
    }
    camera.busy = true;
    camera.panel.hidden = false;
    message(gettext("识别中… / Reading"));
    var form = new FormData();
    form.append("image", blob, "scan.jpg");
    fetch(page.urls.decode, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: form,
    }).then(readAnswer).then(function (answer) {
      var codes = answer.data && answer.data.codes;
      if (answer.status === 200 && codes && codes.length && codes[0].text) {
        found(codes[0].text);
      } else if (answer.status === 200) {
        message(gettext("未识别到条码：请靠近、对准、避免反光后重拍 / No barcode found"), true);
        sound("err");
      } else {
        var error = (answer.data && answer.data.error) || {};
        message("✗ " + (messageOf(error) || gettext("识别失败 / Failed")), true);
        sound("err");
      }
    }).catch(function () {
      message(gettext("网络不通，无法识别照片 / Offline"), true);
    }).then(function () { camera.busy = false; });
  }

  function shoot() {
    var video = camera.video;
    if (!camera.stream || !video.videoWidth) {
      camera.photo.click();
      return;
    }
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) { if (blob) decodeBlob(blob); }, "image/jpeg", 0.92);
  }

  root.querySelector("[data-camera]").addEventListener("click", open);
  root.querySelector("[data-camera-close]").addEventListener("click", close);
  root.querySelector("[data-camera-shoot]").addEventListener("click", shoot);
  root.querySelector("[data-camera-photo]").addEventListener("click", function () {
    camera.photo.click();
  });
  camera.photo.addEventListener("change", function () {
    var file = camera.photo.files && camera.photo.files[0];
    camera.photo.value = "";
    if (file) decodeBlob(file);
  });

  return {
    isOpen: function () { return !camera.panel.hidden; },
    close: close,
  };
}
