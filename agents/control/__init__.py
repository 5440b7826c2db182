"""Human control: kill switches and approvals, kept in the graph and recorded."""
