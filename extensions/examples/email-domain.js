// Person reconciliation: the company moved from old.example.com to new.example.com.
// Match on the local part of the e-mail address across the two domains; then on user name.
const MOVED = { "old.example.com": "new.example.com" };

function match(person, candidates) {
  const email = (person.email || "").toLowerCase();
  const at = email.lastIndexOf("@");
  if (at > 0) {
    const local = email.slice(0, at), domain = email.slice(at + 1);
    const wanted = local + "@" + (MOVED[domain] || domain);
    const hit = candidates.find(c => (c.email || "").toLowerCase() === wanted);
    if (hit) return hit.id;
  }
  const byName = candidates.find(c => c.username && c.username === person.username);
  return byName ? byName.id : null;  // null: the collection's default person applies
}
