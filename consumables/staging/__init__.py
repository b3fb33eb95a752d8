"""The code-conflict workspace (对码工作区): the hospital's HRP material list and HIS charge
and order catalogues loaded as they are, the conflicts between them, and the promotion of
clean materials into the live master."""
