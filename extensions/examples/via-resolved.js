// State transition: the target workflow closes only from Resolved, and a closed item
// reopens only to New. Return the states to apply, in order.
function transitions(current, desired, artifact) {
  if (current === desired) return [];
  if (desired === "Closed" && current !== "Resolved") return ["Resolved", "Closed"];
  if (current === "Closed" && desired !== "New") return ["New", desired];
  return [desired];
}
