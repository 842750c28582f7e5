#include "pipelines/cel_expression.h"
#include "pipelines/json_text.h"

#include <cmath>
#include <cstdlib>
#include <vector>

namespace cadre::pipelines {

using nlohmann::json;

struct CelExpression::Node {
  enum class Kind { kLiteral, kIdent, kIndex, kField, kCall, kUnary, kBinary };
  Kind kind = Kind::kLiteral;
  json value;        // kLiteral
  std::string name;  // kIdent, kField (the field), kCall (the function), kUnary/kBinary (the op)
  std::vector<std::shared_ptr<const Node>> args;  // operands, in order
  size_t column = 0;                              // where it starts, 1-based
};

namespace {

using Node = CelExpression::Node;
using NodePtr = std::shared_ptr<const Node>;

enum class Tok { kEnd, kIdent, kString, kInt, kDouble, kOp };

struct Token {
  Tok type = Tok::kEnd;
  std::string text;  // identifier, operator, or the decoded string
  json number;
  size_t column = 0;
};

Status error_at(size_t column, const std::string& what) {
  return InvalidArgument("column " + std::to_string(column) + ": " + what);
}

// An int or double literal starting at s[i]; the index past it.
Result<size_t> lex_number(const std::string& s, size_t i, std::vector<Token>& out) {
  const size_t column = i + 1;
  size_t j = i;
  bool is_double = false;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
  if (j < s.size() && s[j] == '.') {
    is_double = true;
    ++j;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
  }
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    is_double = true;
    ++j;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
  }
  const std::string text = s.substr(i, j - i);
  Token t{is_double ? Tok::kDouble : Tok::kInt, text, nullptr, column};
  errno = 0;
  if (is_double) {
    t.number = std::strtod(text.c_str(), nullptr);
  } else {
    const long long v = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == ERANGE) return error_at(column, "integer " + text + " is out of range");
    t.number = static_cast<int64_t>(v);
  }
  out.push_back(std::move(t));
  return j;
}

// A string literal quoted by s[i] (' or "), escapes decoded; the index past it.
Result<size_t> lex_string(const std::string& s, size_t i, std::vector<Token>& out) {
  const size_t column = i + 1;
  const char quote = s[i];
  std::string text;
  size_t j = i + 1;
  for (;; ++j) {
    if (j >= s.size()) return error_at(column, "unterminated string");
    if (s[j] == quote) break;
    if (s[j] != '\\') {
      text += s[j];
      continue;
    }
    if (++j >= s.size()) return error_at(column, "unterminated string");
    switch (s[j]) {
      case 'n':
        text += '\n';
        break;
      case 't':
        text += '\t';
        break;
      case '\\':
      case '\'':
      case '"':
        text += s[j];
        break;
      default:
        return error_at(j, std::string("unsupported escape \\") + s[j]);
    }
  }
  out.push_back({Tok::kString, std::move(text), nullptr, column});
  return j + 1;
}

// An operator at s[i], two characters before one; the index past it.
Result<size_t> lex_operator(const std::string& s, size_t i, std::vector<Token>& out) {
  static const char* kTwo[] = {"==", "!=", "<=", ">=", "&&", "||"};
  const char c = s[i];
  std::string op;
  for (const char* two : kTwo) {
    if (s.compare(i, 2, two) == 0) op = two;
  }
  if (op.empty() && std::string("()[].,!<>-+").find(c) != std::string::npos) op = c;
  if (op.empty()) {
    return error_at(i + 1, std::string("'") + c + "' is not in the supported CEL subset");
  }
  out.push_back({Tok::kOp, op, nullptr, i + 1});
  return i + op.size();
}

Result<std::vector<Token>> lex(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (std::isalpha(c) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out.push_back({Tok::kIdent, s.substr(i, j - i), nullptr, i + 1});
      i = j;
    } else if (std::isdigit(c)) {
      ASSIGN_OR_RETURN(i, lex_number(s, i, out));
    } else if (c == '\'' || c == '"') {
      ASSIGN_OR_RETURN(i, lex_string(s, i, out));
    } else {
      ASSIGN_OR_RETURN(i, lex_operator(s, i, out));
    }
  }
  out.push_back({Tok::kEnd, "", nullptr, s.size() + 1});
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Result<NodePtr> parse() {
    ASSIGN_OR_RETURN(NodePtr root, expr(0));
    if (peek().type != Tok::kEnd)
      return error_at(peek().column, "unexpected '" + peek().text + "'");
    return root;
  }

 private:
  const Token& peek() const { return t_[pos_]; }
  bool is_op(const char* op) const { return peek().type == Tok::kOp && peek().text == op; }
  Status expect(const char* op) {
    if (!is_op(op)) return error_at(peek().column, std::string("expected '") + op + "'");
    ++pos_;
    return Status::Ok();
  }
  static NodePtr make(Node::Kind kind, std::string name, std::vector<NodePtr> args, size_t col) {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->name = std::move(name);
    n->args = std::move(args);
    n->column = col;
    return n;
  }

  // Binary operators by precedence, loosest first (CEL's own order).
  Result<NodePtr> expr(int depth) {
    if (depth > kMaxCelDepth) return error_at(peek().column, "expression nests too deeply");
    return binary(0, depth);
  }
  Result<NodePtr> binary(int level, int depth) {
    static const std::vector<std::vector<std::string>> kLevels = {
        {"||"}, {"&&"}, {"==", "!=", "<", "<=", ">", ">="}, {"+", "-"}};
    if (level == static_cast<int>(kLevels.size())) return unary(depth);
    ASSIGN_OR_RETURN(NodePtr left, binary(level + 1, depth));
    for (;;) {
      const Token& t = peek();
      bool match = false;
      for (const auto& op : kLevels[level]) match = match || (t.type == Tok::kOp && t.text == op);
      if (!match) return left;
      const std::string op = t.text;
      const size_t col = t.column;
      ++pos_;
      ASSIGN_OR_RETURN(NodePtr right, binary(level + 1, depth));
      left = make(Node::Kind::kBinary, op, {left, right}, col);
      // Relations do not chain in CEL: a < b < c is refused by the grammar.
      if (level == 2) return left;
    }
  }
  Result<NodePtr> unary(int depth) {
    if (is_op("!") || is_op("-")) {
      const Token t = peek();
      ++pos_;
      if (depth + 1 > kMaxCelDepth) return error_at(t.column, "expression nests too deeply");
      ASSIGN_OR_RETURN(NodePtr operand, unary(depth + 1));
      return make(Node::Kind::kUnary, t.text, {operand}, t.column);
    }
    return postfix(depth);
  }
  Result<NodePtr> postfix(int depth) {
    ASSIGN_OR_RETURN(NodePtr node, primary(depth));
    for (;;) {
      if (is_op("[")) {
        const size_t col = peek().column;
        ++pos_;
        ASSIGN_OR_RETURN(NodePtr index, expr(depth + 1));
        RETURN_IF_ERROR(expect("]"));
        node = make(Node::Kind::kIndex, "", {node, index}, col);
      } else if (is_op(".")) {
        ++pos_;
        if (peek().type != Tok::kIdent) return error_at(peek().column, "expected a field name");
        node = make(Node::Kind::kField, peek().text, {node}, peek().column);
        ++pos_;
      } else {
        return node;
      }
    }
  }
  Result<NodePtr> primary(int depth) {
    const Token t = peek();
    switch (t.type) {
      case Tok::kString: {
        ++pos_;
        auto n = std::make_shared<Node>();
        n->value = t.text;
        n->column = t.column;
        return NodePtr(n);
      }
      case Tok::kInt:
      case Tok::kDouble: {
        ++pos_;
        auto n = std::make_shared<Node>();
        n->value = t.number;
        n->column = t.column;
        return NodePtr(n);
      }
      case Tok::kIdent: {
        ++pos_;
        if (t.text == "true" || t.text == "false" || t.text == "null") {
          auto n = std::make_shared<Node>();
          n->value = t.text == "null" ? json(nullptr) : json(t.text == "true");
          n->column = t.column;
          return NodePtr(n);
        }
        if (!is_op("(")) return make(Node::Kind::kIdent, t.text, {}, t.column);
        static const std::set<std::string> kFunctions = {"int",  "double", "string",
                                                         "bool", "size",   "parseJson"};
        if (!kFunctions.count(t.text)) {
          return error_at(t.column, "function '" + t.text +
                                        "' is not in the supported CEL subset (int, double, "
                                        "string, bool, size, parseJson)");
        }
        ++pos_;
        std::vector<NodePtr> args;
        if (!is_op(")")) {
          for (;;) {
            ASSIGN_OR_RETURN(NodePtr arg, expr(depth + 1));
            args.push_back(arg);
            if (!is_op(",")) break;
            ++pos_;
          }
        }
        RETURN_IF_ERROR(expect(")"));
        if (args.size() != 1) {
          return error_at(t.column,
                          t.text + "() takes one argument, got " + std::to_string(args.size()));
        }
        return make(Node::Kind::kCall, t.text, std::move(args), t.column);
      }
      case Tok::kOp:
        if (t.text == "(") {
          ++pos_;
          ASSIGN_OR_RETURN(NodePtr inner, expr(depth + 1));
          RETURN_IF_ERROR(expect(")"));
          return inner;
        }
        return error_at(t.column, "unexpected '" + t.text + "'");
      case Tok::kEnd:
        break;
    }
    return error_at(t.column, "unexpected end of expression");
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
};

// inputs.parameter_values['NAME'] and the identifiers, for checks at apply time.
void collect(const NodePtr& n, std::set<std::string>& refs, std::set<std::string>& idents) {
  if (n->kind == Node::Kind::kIdent) idents.insert(n->name);
  if (n->kind == Node::Kind::kIndex && n->args[1]->kind == Node::Kind::kLiteral &&
      n->args[1]->value.is_string()) {
    const Node& base = *n->args[0];
    if (base.kind == Node::Kind::kField && base.name == "parameter_values" &&
        base.args[0]->kind == Node::Kind::kIdent && base.args[0]->name == "inputs") {
      refs.insert(n->args[1]->value.get<std::string>());
    }
  }
  for (const auto& a : n->args) collect(a, refs, idents);
}

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "int";
    case json::value_t::number_float:
      return "double";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "list";
    case json::value_t::object:
      return "map";
    default:
      return "value";
  }
}

std::string short_text(const json& v) {
  std::string s = json_text(v);
  return s.size() > 64 ? s.substr(0, 64) + "..." : s;
}

Result<json> call(const Node& n, const json& v) {
  const std::string& f = n.name;
  auto bad = [&]() {
    return error_at(n.column, f + "() cannot convert " + type_name(v) + " " + short_text(v));
  };
  if (f == "int") {
    if (v.is_number_integer()) return v;
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return bad();
      return json(static_cast<int64_t>(d));
    }
    if (v.is_string()) {
      const std::string s = v.get<std::string>();
      char* end = nullptr;
      errno = 0;
      const long long x = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || errno == ERANGE) return bad();
      return json(static_cast<int64_t>(x));
    }
    if (v.is_boolean()) return json(v.get<bool>() ? 1 : 0);
    return bad();
  }
  if (f == "double") {
    if (v.is_number()) return json(v.get<double>());
    if (v.is_string()) {
      const std::string s = v.get<std::string>();
      char* end = nullptr;
      const double x = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0') return bad();
      return json(x);
    }
    return bad();
  }
  if (f == "string") {
    if (v.is_string()) return v;
    return json(json_text(v));
  }
  if (f == "bool") {
    if (v.is_boolean()) return v;
    if (v.is_string() && (v == "true" || v == "false")) return json(v == "true");
    return bad();
  }
  if (f == "size") {
    if (v.is_string()) return json(static_cast<int64_t>(v.get<std::string>().size()));
    if (v.is_array() || v.is_object()) return json(static_cast<int64_t>(v.size()));
    return bad();
  }
  // parseJson
  if (!v.is_string()) return bad();
  json parsed = json::parse(v.get<std::string>(), nullptr, false);
  if (parsed.is_discarded()) return error_at(n.column, "parseJson(): not JSON: " + short_text(v));
  return parsed;
}

// Numbers compare as numbers; everything else only with its own type.
Result<int> compare(const Node& n, const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_integer() && b.is_number_integer()) {
      const auto x = a.get<int64_t>(), y = b.get<int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.get<std::string>().compare(b.get<std::string>());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_boolean() && b.is_boolean()) return static_cast<int>(a.get<bool>()) - b.get<bool>();
  return error_at(n.column, "cannot compare " + type_name(a) + " " + short_text(a) + " with " +
                                type_name(b) + " " + short_text(b));
}

Result<json> eval(const Node& n, const json& bindings);

Result<json> index(const Node& n, const json& base, const json& key) {
  if (base.is_object() && key.is_string()) {
    auto it = base.find(key.get<std::string>());
    if (it == base.end())
      return error_at(n.column, "no key " + short_text(key) + " (it has no value)");
    return *it;
  }
  if (base.is_array() && key.is_number_integer()) {
    const int64_t i = key.get<int64_t>();
    if (i < 0 || i >= static_cast<int64_t>(base.size())) {
      return error_at(n.column, "index " + std::to_string(i) + " is out of range (size " +
                                    std::to_string(base.size()) + ")");
    }
    return base[static_cast<size_t>(i)];
  }
  return error_at(n.column, "cannot index " + type_name(base) + " with " + type_name(key));
}

Result<json> unary(const Node& n, const json& v) {
  if (n.name == "!") {
    if (!v.is_boolean()) return error_at(n.column, "! needs a bool, got " + type_name(v));
    return json(!v.get<bool>());
  }
  if (v.is_number_integer()) return json(-v.get<int64_t>());
  if (v.is_number_float()) return json(-v.get<double>());
  return error_at(n.column, "- needs a number, got " + type_name(v));
}

// + - == != < <= > >= on two evaluated operands (&& and || short-circuit in binary).
Result<json> arithmetic_or_comparison(const Node& n, const json& a, const json& b) {
  const std::string& op = n.name;
  if (op == "+") {
    if (a.is_string() && b.is_string()) return json(a.get<std::string>() + b.get<std::string>());
    if (a.is_number_integer() && b.is_number_integer())
      return json(a.get<int64_t>() + b.get<int64_t>());
    if (a.is_number() && b.is_number()) return json(a.get<double>() + b.get<double>());
    return error_at(n.column, "cannot add " + type_name(a) + " and " + type_name(b));
  }
  if (op == "-") {
    if (a.is_number_integer() && b.is_number_integer())
      return json(a.get<int64_t>() - b.get<int64_t>());
    if (a.is_number() && b.is_number()) return json(a.get<double>() - b.get<double>());
    return error_at(n.column, "cannot subtract " + type_name(b) + " from " + type_name(a));
  }
  if (op == "==" || op == "!=") {
    bool equal = false;
    if (a.is_number() && b.is_number()) {
      ASSIGN_OR_RETURN(int c, compare(n, a, b));
      equal = c == 0;
    } else {
      equal = a == b;
    }
    return json(op == "==" ? equal : !equal);
  }
  ASSIGN_OR_RETURN(int c, compare(n, a, b));
  if (op == "<") return json(c < 0);
  if (op == "<=") return json(c <= 0);
  if (op == ">") return json(c > 0);
  return json(c >= 0);
}

Result<json> binary(const Node& n, const json& bindings) {
  const std::string& op = n.name;
  ASSIGN_OR_RETURN(json a, eval(*n.args[0], bindings));
  if (op == "&&" || op == "||") {
    if (!a.is_boolean()) return error_at(n.column, op + " needs bools, got " + type_name(a));
    // Short-circuit as CEL does (the right side may be an error only when it matters).
    if (op == "&&" && !a.get<bool>()) return json(false);
    if (op == "||" && a.get<bool>()) return json(true);
    ASSIGN_OR_RETURN(json b, eval(*n.args[1], bindings));
    if (!b.is_boolean()) return error_at(n.column, op + " needs bools, got " + type_name(b));
    return b;
  }
  ASSIGN_OR_RETURN(json b, eval(*n.args[1], bindings));
  return arithmetic_or_comparison(n, a, b);
}

Result<json> eval(const Node& n, const json& bindings) {
  switch (n.kind) {
    case Node::Kind::kLiteral:
      return n.value;
    case Node::Kind::kIdent: {
      auto it = bindings.find(n.name);
      if (it == bindings.end()) return error_at(n.column, "unknown identifier '" + n.name + "'");
      return *it;
    }
    case Node::Kind::kField: {
      ASSIGN_OR_RETURN(json base, eval(*n.args[0], bindings));
      if (!base.is_object()) return error_at(n.column, type_name(base) + " has no fields");
      auto it = base.find(n.name);
      if (it == base.end()) return error_at(n.column, "no field '" + n.name + "'");
      return *it;
    }
    case Node::Kind::kIndex: {
      ASSIGN_OR_RETURN(json base, eval(*n.args[0], bindings));
      ASSIGN_OR_RETURN(json key, eval(*n.args[1], bindings));
      return index(n, base, key);
    }
    case Node::Kind::kCall: {
      ASSIGN_OR_RETURN(json arg, eval(*n.args[0], bindings));
      return call(n, arg);
    }
    case Node::Kind::kUnary: {
      ASSIGN_OR_RETURN(json v, eval(*n.args[0], bindings));
      return unary(n, v);
    }
    case Node::Kind::kBinary:
      return binary(n, bindings);
  }
  return error_at(n.column, "unknown expression node");
}

}  // namespace

Result<CelExpression> CelExpression::Parse(const std::string& text) {
  if (text.size() > kMaxCelBytes) {
    return InvalidArgument("expression is " + std::to_string(text.size()) +
                           " bytes; the limit is " + std::to_string(kMaxCelBytes));
  }
  ASSIGN_OR_RETURN(auto tokens, lex(text));
  ASSIGN_OR_RETURN(NodePtr root, Parser(std::move(tokens)).parse());
  CelExpression e;
  e.text_ = text;
  e.root_ = root;
  collect(root, e.parameter_refs_, e.identifiers_);
  return e;
}

Result<json> CelExpression::evaluate(const json& bindings) const {
  if (!root_) return FailedPrecondition("empty expression");
  return eval(*root_, bindings);
}

Result<bool> CelExpression::evaluate_condition(const json& bindings) const {
  ASSIGN_OR_RETURN(json v, evaluate(bindings));
  if (!v.is_boolean()) {
    return InvalidArgument("condition is " + type_name(v) + " " + short_text(v) + ", not a bool");
  }
  return v.get<bool>();
}

}  // namespace cadre::pipelines
