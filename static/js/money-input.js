// The price field of the service forms: what the provider types ↔ integer minor units.

/** "45.00" → 4500 (or 45 for a zero-decimal currency); null when it isn't a price. */
export function toMinorUnits(text, decimals) {
  const cleaned = String(text).trim().replace(/[\s,]/g, "");
  const pattern = decimals === 0 ? /^\d+$/ : new RegExp(`^(\\d+)(?:\\.(\\d{1,${decimals}}))?$`);
  const match = cleaned.match(pattern);
  if (!match) return null;
  if (decimals === 0) return Number(cleaned);
  const fraction = (match[2] || "").padEnd(decimals, "0");
  return Number(match[1]) * 10 ** decimals + Number(fraction);
}

/** The decimals of the currency chosen in a <select> whose options carry data-decimals. */
export function selectedDecimals(select) {
  return Number(select.selectedOptions[0]?.dataset.decimals ?? 2);
}
