/* The page's sounds (Web Audio): a high beep when recorded, a low double tone (and a
 * vibration) when refused, two short beeps when kept waiting or asked.
 */
var audioContext = null;

// Call on a key press or a tap: the moment a browser lets a page make sound.
export function audio() {
  var Ctor = window.AudioContext || window.webkitAudioContext;
  if (!Ctor) return null;
  if (!audioContext) {
    try { audioContext = new Ctor(); } catch (e) { return null; }
  }
  if (audioContext.state === "suspended") audioContext.resume();
  return audioContext;
}

function tones(notes, type) {
  var ctx = audio();
  if (!ctx) return;
  var t = ctx.currentTime + 0.01;
  notes.forEach(function (note) {
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.type = type;
    osc.frequency.value = note[0];
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.3, t + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + note[1]);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(t);
    osc.stop(t + note[1] + 0.02);
    t += note[1] + 0.06;
  });
}

// kind: "ok", "err", anything else for waiting.
export function sound(kind) {
  try {
    if (kind === "ok") tones([[1318, 0.12]], "sine");
    else if (kind === "err") {
      tones([[220, 0.22], [175, 0.32]], "square");
      if (navigator.vibrate) navigator.vibrate([120, 60, 120]);
    } else tones([[660, 0.07], [660, 0.07]], "triangle");
  } catch (e) { /* no sound on this device: the colours still say it */ }
}
