// Custom data transformation: priority numbers (1-4) <-> labels.
// Choose it for the priority field in both directions of the tool that speaks labels:
// a number becomes its label, a label becomes its number, anything else passes through.
const LABELS = { "1": "Urgent", "2": "High", "3": "Normal", "4": "Low" };
const NUMBERS = { Urgent: "1", High: "2", Normal: "3", Low: "4" };

function transform(value, fields) {
  if (value === null || value === undefined || value === "") return value;
  const text = String(value);
  if (LABELS[text] !== undefined) return LABELS[text];
  if (NUMBERS[text] !== undefined) return NUMBERS[text];
  return value;
}
