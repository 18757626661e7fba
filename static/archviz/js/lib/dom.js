// Small DOM helpers shared by the LB page's modules: text updates, field lookup, element building.

/** Set an element's text only when it differs, so unchanged numbers cause no layout work. */
export const text = (el, value) => {
  if (el && el.textContent !== value) el.textContent = value;
};

/** Elements marked data-field="name" inside root, by name. */
export function fieldsOf(root) {
  return Object.fromEntries(
    [...root.querySelectorAll("[data-field]")].map((el) => [el.getAttribute("data-field"), el]),
  );
}

/** Build an element with attributes and children (strings become text, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}
