"""Users, roles and permissions, departments, projects, login and API tokens."""
