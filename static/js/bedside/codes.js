/* What a code looks like, offline too. The server's parser (consumables/udi.py) is the
 * judge; these only have to tell an item from a wristband and a unit from a lot.
 */
var GS1_SYMBOLOGY = /^\](C1|d2|Q3|e0|J1|E0|E4)/;

// The scanner's symbology prefix (]C1, ]d2, ...) taken off.
export function stripSymbology(text) {
  return text.replace(/^\][A-Za-z][0-9A-Za-z]/, "");
}

function gtinValid(digits) {
  var sum = 0;
  for (var i = digits.length - 2, weight = 3; i >= 0; i--, weight = 4 - weight) {
    sum += parseInt(digits.charAt(i), 10) * weight;
  }
  return (10 - (sum % 10)) % 10 === parseInt(digits.charAt(digits.length - 1), 10);
}

export function looksLikeItemCode(raw) {
  // GS1 (symbology, GS, HRI brackets, Digital Link, "01" + GTIN), HIBC, MA, AHM, an
  // in-hospital label or a bare GTIN-13/14: none of them is a visit number's shape.
  if (GS1_SYMBOLOGY.test(raw) || raw.indexOf("\x1d") >= 0) return true;
  var text = stripSymbology(raw).trim();
  return /^[({]01[)}]/.test(text) ||
    /^https?:\/\/[^ ]*\/01\/[0-9]{14}/i.test(text) ||
    /^\*?\+[A-Z0-9$]/i.test(text) ||
    /^MA\.[0-9]/i.test(text) ||
    /^MF[0-9]{1,13}(BA|BN|SN|MD|BD|ED|PL)/.test(text) ||
    /^YN[0-9]{12}$/i.test(text) ||
    (/^01[0-9]{14}/.test(text) && gtinValid(text.slice(2, 16))) ||
    (/^[0-9]{13,14}$/.test(text) && gtinValid(text));
}

function carriesSerial(raw) {
  var text = stripSymbology(raw);
  return /\x1d21|[({]21[)}]/.test(text) ||
    /^01[0-9]{14}(?:1[1-7][0-9]{6})*21/.test(text) ||
    (/^MA\./i.test(text) && /\.S[^.]/i.test(text)) ||
    /^YN[0-9]{12}$/i.test(text);
}

export function tracksUnits(entry) {
  // A unit (serial or in-hospital label) is refused a second use by the server itself.
  if (entry.body) return !!(entry.body.serial || entry.body.hospital_barcode);
  return carriesSerial(entry.code);
}
