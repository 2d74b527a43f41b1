// Reordering by replaceChildren detaches and re-inserts every child, which drops focus and restarts
// layout; skipping it when the order already matches keeps steady redraws free.

/** Makes `wanted` the children of `parent`, touching the DOM only when they differ. */
export function setChildren(parent: Element, wanted: readonly Element[]): void {
  if (!sameChildren(parent, wanted)) parent.replaceChildren(...wanted);
}

function sameChildren(parent: Element, wanted: readonly Element[]): boolean {
  const current = parent.children;
  if (current.length !== wanted.length) return false;
  for (let i = 0; i < wanted.length; i += 1) if (current[i] !== wanted[i]) return false;
  return true;
}
